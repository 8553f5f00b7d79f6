package dev.sluice;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.time.Instant;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package map of docs/architecture.md, checked on the compiled main classes: the policies and the health model
 * stand on the ground floor (pure Java, nothing above them), config does not know the server, and no two packages
 * import each other in a loop.
 */
class ArchitectureTest {
  private static JavaClasses main;

  @BeforeAll
  static void importMainClasses() {
    main = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS).importPackages("dev.sluice");
  }

  @Test
  void policiesTheHealthModelAndTheLabImportNothingFromTheEdgesOrFrameworks() {
    noClasses().that().resideInAnyPackage("dev.sluice.health..", "dev.sluice.routing..", "dev.sluice.limit..",
            "dev.sluice.degrade..", "dev.sluice.lab..", "dev.sluice.flow..", "dev.sluice.resume..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.sluice.server..", "dev.sluice.upstream..",
            "dev.sluice.console..", "dev.sluice.probe..", "dev.sluice.node..", "dev.sluice.config.etcd..",
            "io.vertx..", "io.micrometer..")
        .because("policies are pure Java so tests, JMH and the routing lab run them in simulated time")
        .check(main);
  }

  @Test
  void configImportsNothingFromTheServer() {
    noClasses().that().resideInAPackage("dev.sluice.config..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.sluice.server..", "dev.sluice.upstream..",
            "dev.sluice.console..")
        .check(main);
  }

  @Test
  void theSimulatorTheLabAndTheLoadGeneratorDoNotDependOnTheGateway() {
    noClasses().that().resideInAnyPackage("dev.sluice.sim..", "dev.sluice.lab..", "dev.sluice.loadtest..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.sluice.server..", "dev.sluice.upstream..",
            "dev.sluice.console..")
        .check(main);
  }

  @Test
  void onlyTheClockReadsTheSystemTime() {
    noClasses().that().resideOutsideOfPackage("dev.sluice.support..")
        .should().callMethod(System.class, "nanoTime")
        .orShould().callMethod(System.class, "currentTimeMillis")
        .because("every time-dependent class takes a dev.sluice.support.Clock, so tests and the lab control time")
        .check(main);
  }

  @Test
  void theGatewayStampsTimeFromItsClockToo() {
    noClasses().that().resideOutsideOfPackages("dev.sluice.support..", "dev.sluice.sim..", "dev.sluice.cli..")
        .should().callMethod(Instant.class, "now")
        .because("time stamps come from the injected Clock as well (the simulator's wire stamps and one-shot CLI "
            + "commands excepted)")
        .check(main);
  }

  @Test
  void noTwoPackagesImportEachOtherInALoop() {
    slices().matching("dev.sluice.(*)..").should().beFreeOfCycles().check(main);
  }
}

package dev.sluice.cli;

import dev.sluice.lab.LabFairness;
import dev.sluice.lab.LabPolicy;
import dev.sluice.lab.LabReport;
import dev.sluice.lab.RoutingLab;
import dev.sluice.support.Clock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sluice lab}: runs the routing lab (a discrete-event simulation) and writes its report and plot. */
@Command(name = "lab", mixinStandardHelpOptions = true,
    description = "Run the routing lab: every routing policy against simulated GPU clusters (virtual time, seeded), "
        + "and write a markdown report plus an SVG plot next to it. See docs/routing-lab.md.")
public final class LabCommand implements Callable<Integer> {
  /** Arrival window per run of the full grid, simulated seconds (the events' nominal timeline). */
  static final double FULL_DURATION_SECONDS = 900;
  /** Arrival window per run of the quick grid. */
  static final double QUICK_DURATION_SECONDS = 120;

  @Option(names = "--out", paramLabel = "FILE",
      description = "Markdown report to write; the SVG goes next to it with .svg (default: ${DEFAULT-VALUE}).")
  private Path out = Path.of("docs/routing-lab.md");

  @Option(names = "--seeds", description = "Seeds per point (default: ${DEFAULT-VALUE}).")
  private int seeds = 3;

  @Option(names = "--quick", description = "Reduced grid (C2 chat, steady, 70 %% and 130 %%, 120 s runs): seconds.")
  private boolean quick;

  @Option(names = "--duration", paramLabel = "SECONDS",
      description = "Simulated arrival window per run (default: 900, or 120 with --quick).")
  private Double durationSeconds;

  @Option(names = "--release-penalty", paramLabel = "MS",
      description = "Least-delay's affinity release penalty on the agent points, milliseconds (default: the "
          + "production default, routing.affinity.releasePenalty).")
  private Long releasePenaltyMillis;

  @Option(names = "--threads", description = "Parallel runs (default: available processors).")
  private int threads = Runtime.getRuntime().availableProcessors();

  /** Runs the lab without the {@code sluice} entry point (until Main registers {@code lab}). */
  public static void main(String[] args) {
    System.exit(new CommandLine(new LabCommand()).execute(args));
  }

  @Override
  public Integer call() throws IOException, InterruptedException {
    double duration = durationSeconds != null ? durationSeconds
        : quick ? QUICK_DURATION_SECONDS : FULL_DURATION_SECONDS;
    RoutingLab.Options options = new RoutingLab.Options(seeds, quick, duration, threads);
    long started = Clock.SYSTEM.nanos();
    if (releasePenaltyMillis != null && releasePenaltyMillis < 0) {
      throw new IllegalArgumentException("--release-penalty: " + releasePenaltyMillis + " (expected ≥ 0 ms)");
    }
    List<LabPolicy> agentPolicies = releasePenaltyMillis == null ? LabPolicy.agent()
        : LabPolicy.agent(releasePenaltyMillis);
    List<RoutingLab.Summary> summaries = RoutingLab.run(options, RoutingLab.grid(quick),
        point -> point.workload().agent() ? agentPolicies : LabPolicy.standard());
    LabFairness.Result fairness = LabFairness.run(options);
    String svgName = svgName(out);
    Path svg = out.resolveSibling(svgName);
    Files.writeString(out, LabReport.markdown(summaries, fairness, options, command(), svgName));
    Files.writeString(svg, LabReport.svg(summaries));
    if (LabReport.hasAgentPoints(summaries)) {
      Files.writeString(out.resolveSibling(LabReport.agentSvgName(svgName)), LabReport.agentSvg(summaries));
    }
    System.out.printf("routing lab: %d points × policies in %.1f s → %s, %s%n", summaries.size(),
        (Clock.SYSTEM.nanos() - started) / 1e9, out, svg);
    return 0;
  }

  private String command() {
    List<String> words = new ArrayList<>(List.of("sluice", "lab", "--out", out.toString(), "--seeds",
        String.valueOf(seeds)));
    if (quick) {
      words.add("--quick");
    }
    if (durationSeconds != null) {
      words.add("--duration");
      words.add(String.valueOf(durationSeconds));
    }
    if (releasePenaltyMillis != null) {
      words.add("--release-penalty");
      words.add(String.valueOf(releasePenaltyMillis));
    }
    return String.join(" ", words);
  }

  static String svgName(Path markdown) {
    String name = markdown.getFileName().toString();
    return (name.endsWith(".md") ? name.substring(0, name.length() - 3) : name) + ".svg";
  }
}

package dev.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cli.Main;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.sim.GpuProfile;
import dev.sluice.testkit.Http;
import dev.sluice.testkit.NginxProcess;
import dev.sluice.testkit.SluiceProcess;
import dev.sluice.testkit.TestCerts;
import dev.sluice.testkit.TestCluster;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * What ships in deploy/ and the Dockerfile agrees with the product: nginx accepts the config, the Kubernetes probes hit
 * paths the gateway serves, every command line in a unit file or the image parses with Sluice's own CLI, and the
 * image copies the jar the build makes.
 */
class DeployFilesTest {
  private static final Path ROOT = Path.of("..");
  private static final Path DEPLOY = ROOT.resolve("deploy");

  // ------------------------------------------------------------------ nginx

  @Test
  void theShippedNginxConfigPassesNginxTestWithOnlyPortsAndPathsReplaced(@TempDir Path dir) throws Exception {
    TestCerts.Pair cert = TestCerts.create(Files.createDirectories(dir.resolve("certs"))).localhost();
    String shipped = Files.readString(NginxProcess.SHIPPED_CONFIG);
    String conf = NginxProcess.forTest(dir, "127.0.0.1:18081", "127.0.0.1:18082", SluiceProcess.freePort(),
        SluiceProcess.freePort(), cert.cert(), cert.key()).apply(shipped);
    assertThat(directives(conf)).as("every shipped directive is still there").containsAll(directives(shipped));

    NginxProcess.Result result = NginxProcess.test(dir, conf);

    assertThat(result.exitCode()).as("nginx -t:\n%s", result.output()).isZero();
    assertThat(result.output()).contains("syntax is ok", "test is successful");
  }

  @Test
  void theNginxConfigIsStreamingSafeAndRetriesOnlyBeforeTheFirstByte() throws Exception {
    String conf = withoutComments(Files.readString(NginxProcess.SHIPPED_CONFIG));
    assertThat(conf).contains("proxy_buffering off;", "proxy_http_version 1.1;", "proxy_set_header Connection \"\";",
        "gzip off;", "proxy_read_timeout 600s;", "proxy_send_timeout 600s;", "keepalive 64;",
        "proxy_next_upstream error timeout http_502 http_503 non_idempotent;", "proxy_next_upstream_tries 3;",
        "proxy_next_upstream_timeout 600s;", "max_fails=3 fail_timeout=10s", "return 308 https://",
        "ssl_certificate     /etc/sluice/tls/", "proxy_set_header X-Forwarded-For $remote_addr;");
    // nginx never retries a request it sent without buffering its body (HaNginxTest measured 6 failed POSTs with it)
    assertThat(conf).doesNotContain("proxy_request_buffering off").doesNotContain("$proxy_add_x_forwarded_for");
    Matcher admin = Pattern.compile("location ~ \\^/\\(admin\\|console\\|metrics\\)[^{]*\\{([^}]*)}").matcher(conf);
    assertThat(admin.find()).as("a location for /admin, /console and /metrics").isTrue();
    assertThat(admin.group(1)).contains("allow 10.0.0.0/8;", "deny all;");
  }

  @Test
  void aTokenSentAsTheRequestIdThroughNginxIsReplacedAndInNeitherLogWhileAnOrdinaryIdPassesThrough(@TempDir Path dir)
      throws Exception {
    String token = "sk-sluice-RequestIdCanary0123456789abcdefghijklmnopqrst";
    try (TestCluster c = new TestCluster().node("a10-01", GpuProfile.A10, "qwen3:32b", 0).start()) {
      TestCerts certs = TestCerts.create(Files.createDirectories(dir.resolve("certs")));
      TestCerts.Pair cert = certs.localhost();
      int httpsPort = SluiceProcess.freePort();
      String upstream = "127.0.0.1:" + c.port();
      String conf = NginxProcess.forTest(dir, upstream, upstream, SluiceProcess.freePort(), httpsPort, cert.cert(),
          cert.key()).apply(Files.readString(NginxProcess.SHIPPED_CONFIG));
      try (NginxProcess nginx = NginxProcess.start(dir, conf, httpsPort)) {
        java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder()
            .version(java.net.http.HttpClient.Version.HTTP_1_1).sslContext(certs.clientContext()).build();
        java.util.function.Function<String, java.net.http.HttpResponse<String>> get = id -> {
          try {
            return client.send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("https://localhost:" + httpsPort + "/v1/models")).header("X-Request-Id", id)
                .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
          } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
          }
        };

        java.net.http.HttpResponse<String> withToken = get.apply(token);
        java.net.http.HttpResponse<String> ordinary = get.apply("client-trace-42");

        assertThat(withToken.statusCode()).isEqualTo(200);
        assertThat(withToken.headers().firstValue("x-request-id")).hasValueSatisfying(id ->
            assertThat(id).doesNotContain("sk-sluice-").matches("[0-9a-f]{32}"));
        assertThat(ordinary.headers().firstValue("x-request-id")).hasValue("client-trace-42");
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> nginx.accessLogLines().size() >= 2);
        assertThat(String.join("\n", nginx.accessLogLines())).doesNotContain(token).contains("rid=client-trace-42");
      }
    }
  }

  @Test
  void theShippedNginxConfigWithItsSessionHashEnabledKeepsEachAgentSessionOnOneReplicaAndSpreadsSessions(
      @TempDir Path dir) throws Exception {
    HttpServer a = replica("a");
    HttpServer b = replica("b");
    try {
      TestCerts certs = TestCerts.create(Files.createDirectories(dir.resolve("certs")));
      TestCerts.Pair cert = certs.localhost();
      int httpsPort = SluiceProcess.freePort();
      String conf = NginxProcess.forTest(dir, "127.0.0.1:" + a.getAddress().getPort(),
              "127.0.0.1:" + b.getAddress().getPort(), SluiceProcess.freePort(), httpsPort, cert.cert(), cert.key())
          .replace("    least_conn;\n", "    hash $sluice_session_key consistent;\n") // what the comment says to do
          .apply(Files.readString(NginxProcess.SHIPPED_CONFIG));
      try (NginxProcess nginx = NginxProcess.start(dir, conf, httpsPort)) {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .sslContext(certs.clientContext()).build();
        // each agent client's own header, and none (the credential and the client's address then)
        List<String> headers = List.of("x-session-id", "X-Claude-Code-Session-Id", "session-id",
            "x-session-affinity", "Authorization");
        for (String header : headers) {
          Set<String> replicasOfSessions = new HashSet<>();
          for (int session = 0; session < 16; session++) {
            String value = (header.equals("Authorization") ? "Bearer sk-agent-" : "session-") + session;
            Set<String> replicasOfTurns = new HashSet<>();
            for (int turn = 0; turn < 3; turn++) {
              HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("https://localhost:" + httpsPort
                      + "/v1/chat/completions")).header(header, value)
                  .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
              assertThat(r.statusCode()).isEqualTo(200);
              replicasOfTurns.add(r.body());
            }
            assertThat(replicasOfTurns).as(header + ": " + value + "'s turns").hasSize(1);
            replicasOfSessions.addAll(replicasOfTurns);
          }
          assertThat(replicasOfSessions).as(header + ": 16 sessions over both replicas").containsExactlyInAnyOrder(
              "a", "b");
        }
      }
    } finally {
      a.stop(0);
      b.stop(0);
    }
  }

  /** A stand-in replica on a free loopback port: answers every request with its name. */
  private static HttpServer replica(String name) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", exchange -> {
      exchange.getRequestBody().readAllBytes();
      byte[] body = name.getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    return server;
  }

  // ------------------------------------------------------------------ Kubernetes

  @Test
  void theKubernetesProbesAskPathsTheGatewayReallyServes() throws Exception {
    String deployment = Files.readString(DEPLOY.resolve("k8s/deployment.yaml"));
    String readiness = probePath(deployment, "readinessProbe");
    String liveness = probePath(deployment, "livenessProbe");
    assertThat(readiness).isEqualTo("/readyz");
    assertThat(liveness).isEqualTo("/healthz");
    assertThat(probePath(deployment, "startupProbe")).isEqualTo("/healthz");

    try (TestCluster c = new TestCluster().node("a10-01", GpuProfile.A10, "qwen3:32b", 0).start()) {
      assertThat(Http.get(c.url(readiness)).statusCode()).isEqualTo(200);
      assertThat(Http.get(c.url(readiness)).body()).contains("\"status\":\"ready\"");
      assertThat(Http.get(c.url(liveness)).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void theConfigMapHoldsAValidConfigWhosePortsTheDeploymentExposes() throws Exception {
    String yaml = Files.readString(DEPLOY.resolve("k8s/configmap.yaml"));
    SluiceConfig config = ConfigLoader.parse(blockScalar(yaml, "sluice.json"), "configmap.yaml");
    String deployment = Files.readString(DEPLOY.resolve("k8s/deployment.yaml"));

    assertThat(deployment).contains("{name: http, containerPort: " + config.server().port() + "}");
    assertThat(deployment).contains("{name: admin, containerPort: " + config.admin().port() + "}");
    assertThat(deployment).contains("args: [\"serve\", \"--config\", \"/etc/sluice/config/sluice.json\"]")
        .contains("mountPath: /etc/sluice/config");
    assertThat(config.auth().keysFile()).isEqualTo(Path.of("/etc/sluice/secrets/keys.json"));
    assertThat(deployment).contains("mountPath: /etc/sluice/secrets");
    parse(List.of("serve", "--config", "/etc/sluice/config/sluice.json"));
  }

  @Test
  void theDeploymentRunsTwoNonRootReplicasThatDrainBeforeStopping() throws Exception {
    String deployment = Files.readString(DEPLOY.resolve("k8s/deployment.yaml"));
    assertThat(deployment).contains("replicas: 2", "runAsNonRoot: true", "runAsUser: 10001",
        "terminationGracePeriodSeconds: 600", "preStop:", "allowPrivilegeEscalation: false", "resources:");
    assertThat(Files.readString(DEPLOY.resolve("k8s/pdb.yaml"))).contains("kind: PodDisruptionBudget",
        "maxUnavailable: 1");
    assertThat(Files.readString(DEPLOY.resolve("k8s/kustomization.yaml")))
        .contains("configmap.yaml", "deployment.yaml", "service.yaml", "pdb.yaml")
        .doesNotContain("- secret.example.yaml"); // secrets are created out of band
  }

  @Test
  void everyKustomizationResourceIsAKubernetesObjectInTheSluiceNamespace() throws Exception {
    com.fasterxml.jackson.databind.ObjectMapper yaml =
        new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory());
    var kustomization = yaml.readTree(DEPLOY.resolve("k8s/kustomization.yaml").toFile());
    assertThat(kustomization.path("namespace").asText()).isEqualTo("sluice");
    List<String> kinds = new ArrayList<>();
    for (var resource : kustomization.path("resources")) {
      Path file = DEPLOY.resolve("k8s").resolve(resource.asText());
      assertThat(file).as("kustomization resource %s", resource.asText()).exists();
      try (var parser = yaml.getFactory().createParser(file.toFile())) {
        for (var it = yaml.readValues(parser, com.fasterxml.jackson.databind.JsonNode.class); it.hasNext(); ) {
          var doc = it.next();
          assertThat(doc.path("apiVersion").asText()).as("%s: apiVersion", file).isNotEmpty();
          assertThat(doc.path("metadata").path("name").asText()).as("%s: metadata.name", file).isNotEmpty();
          kinds.add(doc.path("kind").asText());
        }
      }
    }
    assertThat(kinds).contains("Deployment", "Service", "ConfigMap", "PodDisruptionBudget");
  }

  // ------------------------------------------------------------------ systemd

  @Test
  void theSystemdUnitsCommandLinesParseWithSluicesCli() throws Exception {
    List<String> serve = jarArgs(execStart(DEPLOY.resolve("systemd/sluice.service")));
    assertThat(serve).containsExactly("serve", "--config", "/etc/sluice/sluice.json");
    assertThat(parse(serve)).isEqualTo("serve");

    List<String> sim = jarArgs(execStart(DEPLOY.resolve("systemd/sluice-sim@.service")).replace("%i", "11434")
        .replace("$SIM_OPTS", "--gpu A100 --time-scale 10"));
    assertThat(parse(sim)).isEqualTo("sim");
    assertThat(sim).contains("--port", "11434");
  }

  @Test
  void theEtcdVariantInTheServiceFileParsesWithSluicesCli() throws Exception {
    String unit = Files.readString(DEPLOY.resolve("systemd/sluice.service"));
    Matcher m = Pattern.compile("#\\s+ExecStart=(\\S+ \\$JAVA_OPTS -jar \\S+ serve --config etcd://\\S+ .*)")
        .matcher(unit);
    assertThat(m.find()).as("the etcd variant's ExecStart in a comment").isTrue();
    List<String> args = jarArgs(m.group(1));
    assertThat(args).contains("--state-dir");
    assertThat(parse(args)).isEqualTo("serve");
  }

  @Test
  void systemdAnalyzeVerifyFindsNothingToReport(@TempDir Path dir) throws Exception {
    assertThat(onPath("systemd-analyze")).as("systemd-analyze (Debian package systemd; ./test.sh installs it)").isTrue();
    Files.copy(DEPLOY.resolve("systemd/sluice.service"), dir.resolve("sluice.service"));
    Files.copy(DEPLOY.resolve("systemd/sluice-sim@.service"), dir.resolve("sluice-sim@11434.service"));
    String out = run(List.of("systemd-analyze", "verify", dir.resolve("sluice.service").toString(),
        dir.resolve("sluice-sim@11434.service").toString()));
    List<String> aboutOurUnits = out.lines().filter(l -> l.contains("sluice")).toList();
    assertThat(aboutOurUnits).as("systemd-analyze verify:\n%s", out).isEmpty();
  }

  // ------------------------------------------------------------------ Docker

  @Test
  void theDockerfileCopiesTheJarTheBuildProducesAndRunsACommandTheCliKnows() throws Exception {
    String dockerfile = Files.readString(ROOT.resolve("Dockerfile"));
    String pom = Files.readString(ROOT.resolve("sluice-app/pom.xml"));
    Matcher finalName = Pattern.compile("<finalName>([^<]+)</finalName>").matcher(pom);
    assertThat(finalName.find()).isTrue();
    String jar = "sluice-app/target/" + finalName.group(1) + ".jar";
    Matcher workdir = Pattern.compile("FROM \\S+ AS build\\s+WORKDIR (\\S+)").matcher(dockerfile);
    assertThat(workdir.find()).as("the build stage's WORKDIR").isTrue();

    assertThat(dockerfile).contains("COPY --from=build " + workdir.group(1) + "/" + jar + " /opt/sluice/sluice.jar");
    assertThat(Files.readString(ROOT.resolve("sluice"))).as("the launcher builds the same jar")
        .contains("jar=\"$here/" + jar + "\"");
    assertThat(dockerfile).contains("-pl sluice-app -am package -DskipTests");
    // the reactor needs every module's pom, including the ones not built
    for (String module : modules()) assertThat(dockerfile).contains("COPY " + module + "/pom.xml " + module + "/");

    assertThat(dockerfile).contains("ENTRYPOINT [\"java\", \"-jar\", \"/opt/sluice/sluice.jar\"]");
    assertThat(parse(jsonArray(dockerfile, "CMD"))).isEqualTo("serve");
    assertThat(dockerfile).contains("USER 10001:10001", "EXPOSE 8080", "http://127.0.0.1:8080/readyz");
    assertThat(Files.readString(DEPLOY.resolve("k8s/deployment.yaml"))).contains("runAsUser: 10001");
  }

  // ------------------------------------------------------------------ helpers

  /** Parses {@code args} with Sluice's picocli command line; returns the subcommand's name. */
  private static String parse(List<String> args) {
    CommandLine.ParseResult parsed = Main.commandLine().parseArgs(args.toArray(String[]::new));
    assertThat(parsed.subcommand()).as("a subcommand in %s", args).isNotNull();
    return parsed.subcommand().commandSpec().name();
  }

  /** The words after {@code sluice.jar} in a command line. */
  private static List<String> jarArgs(String commandLine) {
    List<String> words = Arrays.asList(commandLine.trim().split("\\s+"));
    int jar = words.indexOf("/opt/sluice/sluice.jar");
    assertThat(jar).as("the jar in %s", commandLine).isPositive();
    assertThat(words.subList(0, jar)).as("java runs the jar").containsExactly("/usr/bin/java", "$JAVA_OPTS", "-jar");
    return words.subList(jar + 1, words.size());
  }

  private static String execStart(Path unit) throws IOException {
    List<String> lines = Files.readAllLines(unit).stream().filter(l -> l.startsWith("ExecStart=")).toList();
    assertThat(lines).as("one ExecStart in %s", unit).hasSize(1);
    return lines.get(0).substring("ExecStart=".length());
  }

  private static String probePath(String deployment, String probe) {
    Matcher m = Pattern.compile(probe + ":\\s*\\n\\s*httpGet: \\{path: (\\S+), port: http}").matcher(deployment);
    assertThat(m.find()).as("%s with an httpGet on port http", probe).isTrue();
    return m.group(1);
  }

  /** The text of a YAML block scalar {@code key: |}, its indentation removed. */
  private static String blockScalar(String yaml, String key) {
    List<String> lines = yaml.lines().toList();
    int start = -1;
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).trim().equals(key + ": |")) start = i + 1;
    }
    assertThat(start).as("%s: | in the YAML", key).isPositive();
    int indent = lines.get(start).length() - lines.get(start).stripLeading().length();
    List<String> out = new ArrayList<>();
    for (int i = start; i < lines.size(); i++) {
      String l = lines.get(i);
      if (!l.isBlank() && l.length() - l.stripLeading().length() < indent) break;
      out.add(l.isBlank() ? "" : l.substring(indent));
    }
    return String.join("\n", out);
  }

  private static List<String> jsonArray(String dockerfile, String instruction) {
    Matcher m = Pattern.compile("(?m)^" + instruction + " \\[(.*)]$").matcher(dockerfile);
    assertThat(m.find()).as("%s [...] in the Dockerfile", instruction).isTrue();
    return Arrays.stream(m.group(1).split(",")).map(s -> s.trim().replaceAll("^\"|\"$", "")).toList();
  }

  private static List<String> modules() throws IOException {
    Matcher m = Pattern.compile("<module>([^<]+)</module>").matcher(Files.readString(ROOT.resolve("pom.xml")));
    List<String> out = new ArrayList<>();
    while (m.find()) out.add(m.group(1));
    assertThat(out).isNotEmpty();
    return out;
  }

  /** The directive names of an nginx config, in order, comments removed. */
  private static List<String> directives(String conf) {
    return withoutComments(conf).lines().map(String::trim).filter(l -> !l.isEmpty() && !l.equals("}"))
        .map(l -> l.split("[\\s;{]", 2)[0]).collect(Collectors.toList());
  }

  private static String withoutComments(String conf) {
    return conf.lines().map(l -> l.replaceAll("(^|\\s)#.*$", "")).collect(Collectors.joining("\n"));
  }

  private static boolean onPath(String command) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (Files.isExecutable(Path.of(dir, command))) return true;
    }
    return false;
  }

  private static String run(List<String> command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("%s:\n%s", command, out).isZero();
    return out;
  }
}

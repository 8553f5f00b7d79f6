package dev.sluice.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.api.ApiFlavor;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.NodeSpec;
import dev.sluice.config.ProviderSpec;
import dev.sluice.config.SluiceConfig;
import dev.sluice.config.etcd.EtcdConfigStore;
import dev.sluice.config.etcd.EtcdUnavailableException;
import dev.sluice.doctor.Doctor;
import dev.sluice.onboard.AdminClient;
import dev.sluice.onboard.ConfigEdits;
import dev.sluice.onboard.NodeCheck;
import dev.sluice.onboard.NodeRegistrar;
import dev.sluice.onboard.NodeRequest;
import dev.sluice.onboard.OnboardException;
import dev.sluice.onboard.ReadyWatch;
import dev.sluice.onboard.Registration;
import dev.sluice.support.Json;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sluice onboard --node-url URL --gpu-type T --model M (--gateway URL | --config FILE)}: the brief's
 * {@code onboard} step in five printed steps: reach the node, check it lists the model, register it (a
 * {@link NodeRegistrar}), follow the gateway's warm-up, and wait until the router shows it READY. Exit 0: READY;
 * 1: a step failed (the message names the fix); 2: bad usage or config.
 */
@Command(name = "onboard", mixinStandardHelpOptions = true,
    description = "Add a GPU node: check it is reachable and serves the model, register it (through a running "
        + "gateway's admin API, in its config file, or in the config replicas share in etcd), then wait until the "
        + "router shows it READY (exit 0: READY; 1: a step failed; 2: bad usage or config).")
public final class OnboardCommand implements Callable<Integer> {
  /** A cold 32B model loads in 10-25 s and a 70B one in up to two minutes (Prober's warm-up bound), plus probes. */
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(180);
  private static final int STEPS = 5;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--node-url", required = true, paramLabel = "URL",
      description = "The node's URL, e.g. http://10.0.0.9:11434 (Ollama) or http://10.0.0.9:8000/v1 (vLLM).")
  String nodeUrl;

  @Option(names = "--gpu-type", required = true, paramLabel = "TYPE", description = "Its GPU model, e.g. A10, A100.")
  String gpuType;

  @Option(names = "--model", required = true, paramLabel = "ID",
      description = "The configured model it serves, e.g. qwen3:32b; it joins that model's provider.")
  String model;

  @Option(names = "--id", paramLabel = "ID",
      description = "Node id (default: GPU type, host and port, e.g. a10-10-0-0-9-11434).")
  String id;

  @Option(names = "--api", paramLabel = "openai|ollama",
      description = "The node's API (default: detected; Ollama's /api/tags is tried first, then /v1/models).")
  ApiFlavor api;

  @Option(names = "--gateway", paramLabel = "URL",
      description = "A running gateway's admin base URL (e.g. http://127.0.0.1:8080): the node is registered through "
          + "its admin API. With --config: where to follow the node (default: the config's server, or its admin "
          + "listener when admin.port is set).")
  URI gateway;

  @Option(names = {"-c", "--config"}, paramLabel = "FILE",
      description = "The gateway's config file: the node is added to the provider serving --model (the running "
          + "gateway reloads it within a second).")
  Path config;

  @Option(names = "--etcd", paramLabel = "etcd://HOST:PORT,…/PREFIX",
      description = "The config shared by replicas in etcd: the node is added there (every replica applies it); "
          + "--gateway names the replica on which onboard follows it to READY.")
  String etcd;

  @Option(names = "--admin-token-file", paramLabel = "FILE",
      description = "File holding the admin token (default: the SLUICE_ADMIN_TOKEN environment variable).")
  Path adminTokenFile;

  @Option(names = "--timeout", paramLabel = "DURATION", converter = BenchCommand.DurationConverter.class,
      description = "How long to wait for READY once registered (default: 180s).")
  Duration timeout = DEFAULT_TIMEOUT;

  private PrintWriter out;
  private PrintWriter err;
  /** The admin plane followed in steps 4 and 5. */
  private URI admin;

  @Override
  public Integer call() throws Exception {
    out = spec.commandLine().getOut();
    err = spec.commandLine().getErr();
    if (config == null && gateway == null) {
      throw usage("say where to register the node: --gateway URL (a running gateway's admin API), --config FILE "
          + "(the gateway's config file) or --etcd URL --gateway URL (the config replicas share)");
    }
    if (etcd != null && (config != null || gateway == null)) {
      throw usage("--etcd takes --gateway URL (a running replica, where onboard follows the node to READY) and no "
          + "--config");
    }
    if (timeout.isNegative() || timeout.isZero()) throw usage("--timeout must be positive, e.g. 180s");
    URI url = nodeUri();
    boolean derivedId = id == null;
    String nodeId = derivedId ? NodeRequest.defaultId(gpuType, url) : id;
    NodeSpec parsed = validNode(nodeId); // bad id, URL or GPU type: Main's handler prints the problems, exit 2

    SluiceConfig file = null;
    String nodeKey = null;
    if (config != null) {
      file = ConfigLoader.load(config); // an invalid config: exit 2 with its problems
      var route = file.model(model);
      if (route.isEmpty()) {
        err.println("sluice onboard: " + ConfigEdits.notConfigured(file, model, config.toString()));
        return Main.EXIT_BAD_CONFIG;
      }
      nodeKey = route.get().nodes().isEmpty() ? null : route.get().nodes().get(0).apiKey();
    }
    admin = gateway != null ? gateway : Doctor.adminOf(file, Doctor.gatewayOf(file));
    AdminClient client = new AdminClient(admin, Main.secret(adminTokenFile, "SLUICE_ADMIN_TOKEN"));
    EtcdConfigStore store;
    try {
      store = etcd == null ? null : EtcdConfigStore.open(etcd);
    } catch (IllegalArgumentException e) {
      throw usage("--etcd: " + e.getMessage());
    }
    try {
      NodeRegistrar registrar = store != null ? NodeRegistrar.etcd(store, client)
          : config != null ? NodeRegistrar.configFile(config, client) : NodeRegistrar.adminApi(client);
      return onboard(registrar, client, nodeId, derivedId, parsed, nodeKey);
    } finally {
      if (store != null) store.close();
    }
  }

  private int onboard(NodeRegistrar registrar, AdminClient client, String nodeId, boolean derivedId, NodeSpec parsed,
      String nodeKey) throws Exception {

    out.println("onboarding node " + nodeId + " (" + parsed.gpuType() + ", " + model + ") at " + nodeUrl
        + (derivedId ? "; id from --gpu-type and the URL (--id sets another)" : ""));

    // 1: reachable, and in which API
    step(1, "reach " + nodeUrl);
    NodeCheck.Reach reach;
    try {
      reach = new NodeCheck(timeout).reach(parsed.root(), api, nodeKey);
    } catch (OnboardException e) {
      return failed(e.getMessage());
    }
    ok("GET " + reach.path() + ": " + (reach.api() == ApiFlavor.OLLAMA ? "Ollama" : "OpenAI-compatible") + " API, "
        + reach.millis() + " ms");

    // 2: serves the model
    step(2, "model " + model);
    if (!reach.serves(model)) {
      return failed(nodeUrl + " does not serve " + model + "; it lists " + listed(reach.models()) + ". Load the model "
          + "on the node (Ollama: ollama pull " + model + "; vLLM: --served-model-name " + model + ") or onboard it "
          + "for a model it serves");
    }
    ok("listed among " + reach.models().size() + " model" + (reach.models().size() == 1 ? "" : "s") + " by the node");

    // 3: registered
    NodeRequest node = new NodeRequest(nodeId, nodeUrl, parsed.root(), reach.api(), parsed.gpuType(), model);
    step(3, "register " + nodeId + " in " + registrar.target());
    Registration registration;
    try {
      registration = registrar.register(node);
    } catch (OnboardException | AdminClient.Unreachable | EtcdUnavailableException e) {
      return failed(e.getMessage());
    } catch (ConfigException e) {
      out.println("FAILED");
      out.flush();
      throw e; // Main's handler prints the problems, exit 2
    }
    ok("provider " + registration.provider() + "; " + registration.note());

    // 4, 5: the gateway warms it up; the router shows it READY
    out.println("[4/" + STEPS + "] warm-up: the gateway probes and warms up the node; following it on GET "
        + admin.resolve("/admin/nodes"));
    out.flush();
    if (registration.state() != null) progress(null, registration.state(), registration.reason(), Duration.ZERO);
    ReadyWatch.Outcome outcome = new ReadyWatch(client).await(nodeId, registration.state(), timeout, this::progress);
    step(5, "ready");
    if (outcome.ready()) {
      ok("the router shows " + nodeId + " READY after " + seconds(outcome.elapsed()) + "; it takes " + model
          + " traffic now");
      return 0;
    }
    return failed(notReady(node, outcome, registration));
  }

  private String notReady(NodeRequest node, ReadyWatch.Outcome o, Registration registration) {
    String kept = " It stays registered (" + registration.note() + "); the gateway keeps probing it and routes to it "
        + "once it is READY.";
    if (o.state() == null) {
      if (o.lastError() != null) return o.lastError() + "." + kept;
      return "the gateway at " + admin + " does not show node " + node.id() + " after " + seconds(o.elapsed())
          + (config != null ? ": is it running on " + config + "? (its log names a rejected config)"
              : ": check the gateway's log");
    }
    String hint = switch (o.state()) {
      case "STARTING" -> "the gateway's probes have not reached it: check that the gateway's machine can reach "
          + nodeUrl + " (this machine can)";
      case "WARMING" -> "it is reachable but has not passed the warm-up and a generation probe yet: a cold model "
          + "can take minutes to load; try a longer --timeout";
      case "DEGRADED" -> "the gateway's probes or generation probes fail: check the node's log and that it "
          + "can generate with " + node.model();
      case "DOWN" -> "the gateway cannot reach it: check the network from the gateway's machine to " + nodeUrl;
      case "DRAINING" -> "an operator drained it: POST /admin/nodes/" + node.id() + "/undrain puts it back";
      default -> "see GET /admin/nodes";
    };
    return "node " + node.id() + " is " + o.state() + ", not READY, after " + seconds(o.elapsed()) + " (--timeout "
        + seconds(timeout) + ")" + (o.reason() == null || o.reason().isEmpty() ? "" : ": " + o.reason()) + "; " + hint
        + "." + (o.lastError() != null ? " Last poll: " + o.lastError() + "." : "") + kept;
  }

  /** One state change of step 4, with the time since registration. */
  private void progress(String from, String to, String reason, Duration elapsed) {
    out.println("      +" + seconds(elapsed) + "  " + (from == null ? to : from + " → " + to)
        + (reason == null || reason.isEmpty() ? "" : ": " + reason));
    out.flush();
  }

  private void step(int n, String what) {
    out.print("[" + n + "/" + STEPS + "] " + what + " … ");
    out.flush();
  }

  private void ok(String detail) {
    out.println("ok (" + detail + ")");
    out.flush();
  }

  /** Ends the current step line with FAILED and prints why on stderr; exit code 1. */
  private int failed(String why) {
    out.println("FAILED");
    out.flush();
    err.println("sluice onboard: " + why);
    err.flush();
    return 1;
  }

  private URI nodeUri() {
    try {
      URI u = new URI(nodeUrl);
      String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
      if ((scheme.equals("http") || scheme.equals("https")) && u.getHost() != null) return u;
    } catch (URISyntaxException e) {
      // reported below
    }
    throw usage("--node-url " + nodeUrl + ": not a URL (expected http(s)://host:port, e.g. http://10.0.0.9:11434)");
  }

  /** The node as the config loader sees it: the same checks and messages as a node in the config file. */
  private NodeSpec validNode(String nodeId) throws ConfigException {
    ObjectNode json = Json.MAPPER.createObjectNode().put("id", nodeId).put("baseUrl", nodeUrl).put("gpuType", gpuType);
    if (api != null) json.put("api", api == ApiFlavor.OLLAMA ? "ollama" : "openai");
    return ConfigLoader.parseNode(json, new ProviderSpec("onboard", List.of(), List.of()), List.of());
  }

  private CommandLine.ParameterException usage(String message) {
    return new CommandLine.ParameterException(spec.commandLine(), message);
  }

  private static String listed(List<String> models) {
    return models.isEmpty() ? "no models" : String.join(", ", models);
  }

  private static String seconds(Duration d) {
    return String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
  }
}

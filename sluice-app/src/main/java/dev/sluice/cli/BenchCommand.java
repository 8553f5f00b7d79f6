package dev.sluice.cli;

import dev.sluice.loadtest.AgentRunner;
import dev.sluice.loadtest.AgentStats;
import dev.sluice.loadtest.AgentWorkload;
import dev.sluice.loadtest.BenchCompare;
import dev.sluice.loadtest.BenchReport;
import dev.sluice.loadtest.BenchResult;
import dev.sluice.loadtest.LoadPlan;
import dev.sluice.loadtest.LoadRunner;
import dev.sluice.loadtest.PromptMix;
import dev.sluice.support.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sluice bench}: load on a running gateway (closed loop with {@code --users}, open loop with {@code --rate}),
 * a summary table at the end, {@code --json} and {@code --report} files, {@code --compare} of two JSON files. Exit
 * codes: 0 the run completed (errors included), 1 the gateway did not answer at the start, 2 bad options.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Load-test a running gateway and report latency (TTFT, inter-token, end-to-end), QPS, tokens/s "
        + "and errors. The gateway token comes from SLUICE_TOKEN or --token-file.")
public final class BenchCommand implements Callable<Integer> {
  static final int EXIT_UNREACHABLE = 1;
  static final int EXIT_BAD_OPTIONS = 2;

  @Option(names = "--url", paramLabel = "URL", description = "Gateway base URL (default: ${DEFAULT-VALUE}).")
  URI url = URI.create("http://127.0.0.1:8080");

  @Option(names = "--token-file", paramLabel = "FILE",
      description = "File holding the gateway token (otherwise SLUICE_TOKEN; none: no Authorization header).")
  Path tokenFile;

  @Option(names = "--preset", paramLabel = "NAME",
      description = "brief: 200 users, 1000 requests of the built-in mix, ramp-up 10s, half of them streamed; "
          + "agents: 16 concurrent agent sessions (docs/bench.md, Agent workload), 1000 requests, ramp-up 5s, all "
          + "streamed (options given explicitly win).")
  String preset;

  @Option(names = "--model", paramLabel = "MODEL", description = "Model to ask for (default: qwen3:32b).")
  String model;

  @Option(names = {"-u", "--users"}, paramLabel = "N", description = "Closed loop: N concurrent users.")
  Integer users;

  @Option(names = "--rate", paramLabel = "R", description = "Open loop: R requests a second (e.g. 20 or 20/s).",
      converter = RateConverter.class)
  Double rate;

  @Option(names = "--ramp-up", paramLabel = "DURATION", description = "Start the users evenly over this (e.g. 10s).",
      converter = DurationConverter.class)
  Duration rampUp;

  @Option(names = {"-d", "--duration"}, paramLabel = "DURATION", description = "Stop after this long (e.g. 60s, 2m).",
      converter = DurationConverter.class)
  Duration duration;

  @Option(names = {"-n", "--requests"}, paramLabel = "N", description = "Stop after N requests.")
  Long requests;

  @Option(names = "--stream", description = "Stream every answer.")
  boolean stream;

  @Option(names = "--no-stream", description = "Stream no answer.")
  boolean noStream;

  @Option(names = "--stream-share", paramLabel = "F", description = "Share of streamed requests, 0–1 (default 0.5).")
  Double streamShare;

  @Option(names = "--prompts", paramLabel = "FILE.jsonl",
      description = "Prompts, one JSON object a line: {\"messages\":[...],\"max_tokens\":N} or {\"prompt\":\"...\"} "
          + "(default: the built-in mix of code generation, document summaries and multi-turn dialogue).")
  Path promptsFile;

  @Option(names = "--max-tokens-scale", paramLabel = "X",
      description = "Multiply every max_tokens by X (default: ${DEFAULT-VALUE}).")
  double maxTokensScale = 1.0;

  @Option(names = "--seed", paramLabel = "N", description = "Seed of the built-in mix (default: ${DEFAULT-VALUE}).")
  long seed = 42;

  @Option(names = "--think-scale", paramLabel = "X",
      description = "--preset agents: multiply think times by X (0.1 against a demo at --time-scale 10; default 1).")
  double thinkScale = 1.0;

  @Option(names = "--max-prompt-tokens", paramLabel = "N",
      description = "--preset agents: compact a session's context beyond N tokens (default: ${DEFAULT-VALUE}).")
  int maxPromptTokens = 16_000;

  @Option(names = "--node-metrics", paramLabel = "URL", split = ",",
      description = "--preset agents: base URLs of the nodes whose /metrics give the prefix-cache hit rate "
          + "(vllm:prefix_cache_hits_total / vllm:prefix_cache_queries_total); without: n/a.")
  List<URI> nodeMetrics = List.of();

  @Option(names = "--dry-run",
      description = "--preset agents: print the statistics of the sessions the run would send (no load is sent).")
  boolean dryRun;

  @Option(names = "--time-scale", paramLabel = "X",
      description = "The target's nodes are simulated X times faster than real GPUs (the --time-scale of the "
          + "sluice demo or sluice sim it runs on): stated in the summary, the JSON and the report, so nobody reads "
          + "its latencies as real-GPU ones (default: ${DEFAULT-VALUE}, real time). Sluice cannot see it through the "
          + "gateway.")
  double timeScale = 1.0;

  @Option(names = "--timeout", paramLabel = "DURATION", converter = DurationConverter.class,
      description = "Give up on one request after this long (default: 120s).")
  Duration timeout = Duration.ofSeconds(120);

  @Option(names = "--progress", description = "Print the progress line even when stderr is not a terminal.")
  boolean progress;

  @Option(names = "--json", paramLabel = "FILE", description = "Write the result as JSON (for --compare).")
  Path json;

  @Option(names = "--report", paramLabel = "FILE.html",
      description = "Write a self-contained HTML report with latency histograms and latency over time.")
  Path report;

  @Option(names = {"-H", "--header"}, paramLabel = "NAME:VALUE",
      description = "Send this header with every request (repeatable), e.g. -H x-sluice-priority:batch.")
  List<String> headers;

  @Option(names = "--slo-ttft", paramLabel = "DURATION", converter = DurationConverter.class,
      description = "Goodput counts answers whose first token came within this (default: 5s; at --time-scale 10 "
          + "of the simulator, 500ms is the same bar).")
  Duration sloTtft;

  @Option(names = "--slo-tpot", paramLabel = "DURATION", converter = DurationConverter.class,
      description = "… and whose output tokens came at this each or faster (default: 200ms).")
  Duration sloTpot;

  @Option(names = "--compare", arity = "2", paramLabel = "FILE.json",
      description = "Compare two --json results (no load is sent).")
  List<Path> compare;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (compare != null) {
      out.print(BenchCompare.table(compare.get(0), compare.get(1)));
      out.flush();
      return 0;
    }
    if ("agents".equals(preset)) return agents(out, err);
    LoadPlan plan;
    PromptMix prompts;
    try {
      plan = plan();
      prompts = promptsFile != null ? PromptMix.file(promptsFile, maxTokensScale)
          : PromptMix.builtIn(seed, maxTokensScale);
    } catch (IllegalArgumentException e) {
      err.println("sluice bench: " + e.getMessage());
      err.flush();
      return EXIT_BAD_OPTIONS;
    }
    LoadRunner runner = new LoadRunner(plan, prompts);
    try {
      runner.checkReachable();
    } catch (LoadRunner.UnreachableException e) {
      err.println("sluice bench: " + e.getMessage());
      err.flush();
      return EXIT_UNREACHABLE;
    }
    err.println("sluice bench: " + plan.describe() + ", time scale " + BenchResult.number(timeScale) + "×");
    err.flush();
    return finish(runner.run(progressLine(err)), out, err);
  }

  /** {@code --preset agents}: agent sessions, their statistics, TTFT by turn kind and the prefix-cache hit rate. */
  private int agents(PrintWriter out, PrintWriter err) throws Exception {
    LoadPlan plan;
    AgentWorkload workload;
    try {
      if (promptsFile != null) throw new IllegalArgumentException("--prompts does not apply to --preset agents");
      plan = plan();
      workload = new AgentWorkload(new AgentWorkload.Settings(seed, plan.streamShare(), maxTokensScale,
          maxPromptTokens));
      if (!(thinkScale >= 0)) throw new IllegalArgumentException("--think-scale " + thinkScale + " must be >= 0");
    } catch (IllegalArgumentException e) {
      err.println("sluice bench: " + e.getMessage());
      err.flush();
      return EXIT_BAD_OPTIONS;
    }
    if (dryRun) {
      AgentStats stats = new AgentStats();
      long limit = plan.requests() > 0 ? plan.requests() : 1000;
      for (long i = 0; stats.requests() < limit; i++) {
        AgentWorkload.Session s = workload.session(i);
        for (AgentWorkload.Step st = s.next(); st != null && stats.requests() < limit; st = s.next()) stats.add(st);
      }
      out.print(stats.table());
      out.flush();
      return 0;
    }
    AgentRunner runner = new AgentRunner(plan, workload, thinkScale, nodeMetrics);
    try {
      runner.checkReachable();
    } catch (LoadRunner.UnreachableException e) {
      err.println("sluice bench: " + e.getMessage());
      err.flush();
      return EXIT_UNREACHABLE;
    }
    err.println("sluice bench: agent sessions, " + plan.describe() + ", think scale " + thinkScale + ", time scale "
        + BenchResult.number(timeScale) + "×");
    err.flush();
    return finish(runner.run(progressLine(err)), out, err);
  }

  private Consumer<BenchResult> progressLine(PrintWriter err) {
    boolean terminal = System.console() != null;
    return terminal || progress ? r -> {
      err.print(terminal ? "\r" + r.progressLine() : r.progressLine() + "\n");
      err.flush();
    } : null;
  }

  private int finish(BenchResult result, PrintWriter out, PrintWriter err) throws IOException {
    result.timeScale(timeScale);
    if (System.console() != null) err.println();
    err.flush();
    out.print(result.table());
    if (!result.agentStats().isEmpty()) out.print(result.agentStats());
    out.flush();
    if (json != null) Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(json.toFile(), result.toJson());
    if (report != null) Files.writeString(report, BenchReport.html(result), StandardCharsets.UTF_8);
    return 0;
  }

  /** The plan from the options, the preset filling what was not given. */
  LoadPlan plan() throws IOException {
    boolean agents = "agents".equals(preset);
    if (preset != null) {
      if (!preset.equals("brief") && !agents) {
        throw new IllegalArgumentException("--preset " + preset + " is not known (known: brief, agents)");
      }
      if (users == null && rate == null) users = agents ? 16 : 200;
      if (requests == null && duration == null) requests = 1000L;
      if (rampUp == null) rampUp = Duration.ofSeconds(agents ? 5 : 10);
    }
    if (stream && noStream) throw new IllegalArgumentException("--stream and --no-stream exclude each other");
    if (!(timeScale > 0)) throw new IllegalArgumentException("--time-scale " + timeScale + " must be > 0 (1 = real GPUs)");
    double share = stream ? 1 : noStream ? 0 : streamShare != null ? streamShare : agents ? 1 : 0.5;
    LoadPlan.Slo slo = new LoadPlan.Slo(sloTtft != null ? sloTtft : LoadPlan.Slo.DEFAULT.ttft(),
        sloTpot != null ? sloTpot : LoadPlan.Slo.DEFAULT.tpot());
    return new LoadPlan(url, token(), model != null ? model : "qwen3:32b", users == null ? 0 : users,
        rate == null ? 0 : rate, rampUp == null ? Duration.ZERO : rampUp, duration,
        requests == null ? 0 : requests, share, timeout, headers(), slo);
  }

  /** {@code --header NAME:VALUE} options as a map; a malformed one or a reserved name is a usage error. */
  private Map<String, String> headers() {
    Map<String, String> out = new LinkedHashMap<>();
    if (headers == null) return out;
    for (String h : headers) {
      int colon = h.indexOf(':');
      String name = colon > 0 ? h.substring(0, colon).trim() : "";
      if (name.isEmpty() || !name.matches("[A-Za-z0-9-]+")) {
        throw new IllegalArgumentException("--header " + h + " must be NAME:VALUE, e.g. x-sluice-priority:batch");
      }
      if (name.equalsIgnoreCase("authorization") || name.equalsIgnoreCase("content-type")
          || name.equalsIgnoreCase("content-length") || name.equalsIgnoreCase("host")) {
        throw new IllegalArgumentException("--header " + name + " is set by sluice bench itself (use --token-file "
            + "for the token)");
      }
      out.put(name, h.substring(colon + 1).trim());
    }
    return out;
  }

  private String token() throws IOException {
    return Main.secret(tokenFile, "SLUICE_TOKEN");
  }

  /** 10s, 500ms, 2m, 1h, or a bare number of seconds. */
  static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String v) {
      String s = v.trim().toLowerCase(Locale.ROOT);
      try {
        if (s.endsWith("ms")) return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
        double n = Double.parseDouble(s.replaceAll("[smh]$", ""));
        double unit = s.endsWith("m") ? 60 : s.endsWith("h") ? 3600 : 1;
        return Duration.ofMillis(Math.round(n * unit * 1000));
      } catch (NumberFormatException e) {
        throw new CommandLine.TypeConversionException("\"" + v + "\" is not a duration (e.g. 500ms, 10s, 2m)");
      }
    }
  }

  /** 20, 20/s or 1200/m requests. */
  static final class RateConverter implements CommandLine.ITypeConverter<Double> {
    @Override
    public Double convert(String v) {
      String s = v.trim().toLowerCase(Locale.ROOT);
      double per = s.endsWith("/m") ? 60 : 1;
      try {
        double r = Double.parseDouble(s.replaceAll("/[sm]$", "")) / per;
        if (!(r > 0)) throw new NumberFormatException();
        return r;
      } catch (NumberFormatException e) {
        throw new CommandLine.TypeConversionException("\"" + v + "\" is not a rate > 0 (e.g. 20, 20/s, 600/m)");
      }
    }
  }
}

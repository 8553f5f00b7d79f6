package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.sluice.api.ApiFlavor;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import dev.sluice.routing.FirstTokenDeadline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigLoaderTest {
  /** A minimal valid provider, spliced into the bad-input cases. */
  private static final String OK_PROVIDER = "'p': {'baseUrl': 'http://h:1', 'models': [{'id': 'm'}]}";

  @Test
  void loadsTheBriefsProviderBlockUnchanged() throws Exception {
    ConfigLoader.Result result = ConfigLoader.parseDetailed(fixture("brief-providers.json"), "brief-providers.json");

    assertBriefConfig(result.config());
    assertThat(result.warnings()).isEmpty();
  }

  @Test
  void loadsTheBriefsProviderBlockUnderClawdbotsModelsProvidersNesting() throws Exception {
    ConfigLoader.Result result =
        ConfigLoader.parseDetailed(fixture("brief-models-providers.json"), "brief-models-providers.json");

    assertBriefConfig(result.config());
    assertThat(result.warnings()).isEmpty();
  }

  private static void assertBriefConfig(SluiceConfig config) {
    assertThat(config.providers()).singleElement().satisfies(p -> assertThat(p.name()).isEqualTo("qwen3:32b-prod"));
    assertThat(config.nodes()).singleElement().satisfies(n -> {
      assertThat(n.id()).isEqualTo("qwen3:32b-prod");
      assertThat(n.root()).isEqualTo(URI.create("http://127.0.0.1:11434"));
      assertThat(n.openAiBase()).isEqualTo(URI.create("http://127.0.0.1:11434/v1"));
      assertThat(n.api()).isEqualTo(ApiFlavor.OPENAI);
      assertThat(n.apiKey()).isEqualTo("ollama");
      assertThat(n.gpuType()).isNull();
      assertThat(n.provider()).isEqualTo("qwen3:32b-prod");
    });
    SluiceConfig.ModelRoute route = config.model("qwen3:32b").orElseThrow();
    assertThat(route.model().name()).isEqualTo("Production Qwen3 32B");
    assertThat(route.model().contextWindowTokens()).isEqualTo(24576);
    assertThat(route.model().maxTokens()).isEqualTo(4096);
    assertThat(route.model().gpuProfile())
        .isEqualTo(new ModelSpec.GpuProfile("22G", true, "Hello, I am ready to assist."));
    assertThat(route.nodes()).extracting(NodeSpec::id).containsExactly("qwen3:32b-prod");
  }

  @Test
  void appliesTheNamedDefaultsWhenServerTimeoutsAndUpstreamAreAbsent() throws Exception {
    SluiceConfig config = ConfigLoader.parse(fixture("brief-providers.json"), "x");

    assertThat(config.server()).isEqualTo(ServerSettings.defaults());
    assertThat(config.timeouts()).isEqualTo(Timeouts.defaults());
    assertThat(config.upstream()).isEqualTo(UpstreamSettings.defaults());
    assertThat(config.source()).isEqualTo("x");
  }

  @Test
  void theFirstTokenDeadlineRuleIsReadFromTimeouts() throws Exception {
    SluiceConfig config = ConfigLoader.parse(json("{'timeouts': {'firstToken': '30s', 'firstTokenFactor': 4, "
        + "'firstTokenFloor': '800ms'}, 'providers': {OK}}".replace("OK", OK_PROVIDER)), "t.json");
    assertThat(config.timeouts().firstTokenDeadline())
        .isEqualTo(new FirstTokenDeadline(4, Duration.ofMillis(800), Duration.ofSeconds(30)));
    assertThat(ConfigLoader.parse(json("{'providers': {OK}}".replace("OK", OK_PROVIDER)), "d.json").timeouts()
        .firstTokenDeadline())
        .isEqualTo(new FirstTokenDeadline(3, Duration.ofMillis(1_500), Duration.ofSeconds(60)));
  }

  @Test
  void loadsAMultiNodeProviderWithPerNodeSettingsAndProviderDefaults() throws Exception {
    SluiceConfig config = ConfigLoader.load(resource("multi-node.json"));

    assertThat(config.server()).isEqualTo(new ServerSettings("127.0.0.1", 9090, 1048576));
    assertThat(config.timeouts()).isEqualTo(new Timeouts(
        Duration.ofMillis(250), Duration.ofSeconds(45), Duration.ofMinutes(5), Duration.ofHours(1)));
    assertThat(config.upstream()).isEqualTo(new UpstreamSettings(64, 128, 2));
    assertThat(config.nodes()).extracting(NodeSpec::id).containsExactly("a10-01", "a100-01", "h100-01", "small");

    NodeSpec a10 = config.node("a10-01").orElseThrow();
    assertThat(a10.root()).isEqualTo(URI.create("http://10.0.0.5:11434"));
    assertThat(a10.openAiBase()).isEqualTo(URI.create("http://10.0.0.5:11434/v1"));
    assertThat(a10.api()).isEqualTo(ApiFlavor.OLLAMA);
    assertThat(a10.gpuType()).isEqualTo("A10");
    assertThat(a10.metricsUrl()).isEqualTo(URI.create("http://10.0.0.5:9400/metrics"));
    assertThat(a10.labels()).isEqualTo(Map.of("zone", "rack-1"));
    assertThat(a10.apiKey()).isEqualTo("pool-key");
    assertThat(a10.provider()).isEqualTo("qwen-pool");

    NodeSpec a100 = config.node("a100-01").orElseThrow();
    assertThat(a100.api()).isEqualTo(ApiFlavor.OPENAI);
    assertThat(a100.apiKey()).isEqualTo("node-key");
    assertThat(a100.openAiBase()).isEqualTo(URI.create("http://10.0.0.6:8000/v1"));
    assertThat(a100.metricsUrl()).isNull();

    assertThat(config.model("qwen3:32b").orElseThrow().nodes())
        .extracting(NodeSpec::id)
        .containsExactly("a10-01", "a100-01", "h100-01", "small");
    assertThat(config.model("qwen3:8b").orElseThrow().nodes()).extracting(NodeSpec::id).containsExactly("small");
  }

  @ParameterizedTest(name = "{0} -> root {1}, openAiBase {2}")
  @CsvSource({
    "http://127.0.0.1:11434/v1,    http://127.0.0.1:11434,  http://127.0.0.1:11434/v1",
    "http://127.0.0.1:11434/v1//,  http://127.0.0.1:11434,  http://127.0.0.1:11434/v1",
    "http://h:8000,                http://h:8000,           http://h:8000/v1",
    "http://h:8000/,               http://h:8000,           http://h:8000/v1",
    "https://gpu.example.com/vllm, https://gpu.example.com/vllm, https://gpu.example.com/vllm/v1",
    "http://h/ollama/v1,           http://h/ollama,         http://h/ollama/v1",
    "http://[::1]:11434,           http://[::1]:11434,      http://[::1]:11434/v1",
  })
  void derivesTheNodeRootAndOpenAiBaseFromTheBaseUrl(String baseUrl, String root, String openAiBase)
      throws Exception {
    SluiceConfig config = ConfigLoader.parse(
        json("{'providers': {'p': {'baseUrl': '" + baseUrl + "', 'models': [{'id': 'm'}]}}}"), "t");

    NodeSpec node = config.nodes().get(0);
    assertThat(node.root()).isEqualTo(URI.create(root));
    assertThat(node.openAiBase()).isEqualTo(URI.create(openAiBase));
  }

  @Test
  void rejectsANodeBaseUrlThatIsNotAUrlNamingTheKeyAndTheFix() {
    String config = "{'providers': {'qwen': {'models': [{'id': 'm'}], 'nodes': ["
        + "{'id': 'n0', 'baseUrl': 'http://h0:1'}, {'id': 'n1', 'baseUrl': 'http://h1:1'},"
        + "{'id': 'n2', 'baseUrl': '10.0.0.5:11434'}]}}}";

    assertThat(problems(config))
        .containsExactly("config: providers.qwen.nodes[2].baseUrl: \"10.0.0.5:11434\" is not a URL "
            + "(expected http(s)://host:port)");
  }

  @Test
  void rejectsANegativeContextWindowWithTheExactMessage() {
    String config = "{'providers': {'qwen3:32b-prod': {'baseUrl': 'http://h:1', "
        + "'models': [{'id': 'm', 'contextWindow': -5}]}}}";

    assertThat(problems(config))
        .containsExactly("config: providers.qwen3:32b-prod.models[0].contextWindow: -5 must be a positive integer "
            + "(tokens)");
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      {'server': {'port': 70000}, 'providers': {OK}}              | config: server.port: 70000 must be a TCP port 0..65535
      {'server': {'port': '8080'}, 'providers': {OK}}             | config: server.port: "8080" must be a TCP port
      {'server': {'port': 80.5}, 'providers': {OK}}               | config: server.port: 80.5 must be a TCP port
      {'server': {'maxBodyBytes': 0}, 'providers': {OK}}          | config: server.maxBodyBytes: 0 must be a positive integer (bytes)
      {'server': {'host': ''}, 'providers': {OK}}                 | config: server.host: "" must be a host name
      {'server': 8080, 'providers': {OK}}                         | config: server: 8080 must be a JSON object
      {'timeouts': {'connect': '2'}, 'providers': {OK}}           | config: timeouts.connect: "2" must be a positive duration like "250ms"
      {'timeouts': {'total': '0s'}, 'providers': {OK}}            | config: timeouts.total: "0s" must be a positive duration
      {'timeouts': {'idle': 30}, 'providers': {OK}}               | config: timeouts.idle: 30 must be a positive duration
      {'timeouts': {'firstToken': '-1s'}, 'providers': {OK}}      | config: timeouts.firstToken: "-1s" must be a positive duration
      {'timeouts': {'firstTokenFactor': 0.5}, 'providers': {OK}}  | config: timeouts.firstTokenFactor: 0.5 must be a number of at least 1
      {'timeouts': {'firstTokenFloor': '2m'}, 'providers': {OK}}  | config: timeouts.firstTokenFloor: 120000ms is above timeouts.firstToken (60000ms)
      {'upstream': {'maxAttempts': 6}, 'providers': {OK}}         | config: upstream.maxAttempts: 6 must be an integer 1..5 (1 = no retry)
      {'upstream': {'maxAttempts': 0}, 'providers': {OK}}         | config: upstream.maxAttempts: 0 must be an integer 1..5
      {'upstream': {'maxConnectionsPerNode': -1}, 'providers': {OK}} | config: upstream.maxConnectionsPerNode: -1 must be a positive integer (connections)
      {'upstream': {'maxWaitQueuePerNode': 'x'}, 'providers': {OK}}  | config: upstream.maxWaitQueuePerNode: "x" must be a positive integer (requests)
      {'route': 1, 'providers': {OK}}                             | config: route: unknown key (known: server, timeouts, upstream, routing, health, degradation, cache, limits, auth, admin, shared, providers, models)
      {'server': {'prot': 1}, 'providers': {OK}}                  | config: server.prot: unknown key (known: host, port, maxBodyBytes, maxJsonDepth, maxHeaderBytes, cors, tls, 
      {'server': {'cors': {'allowedOrigins': ['*'], 'allowCredentials': true}}, 'providers': {OK}} | config: server.cors: allowCredentials with allowedOrigins "*" would let any web page act with a user's credentials
      {'server': {'cors': {'allowedOrigins': ['https://app.example.com/ui']}}, 'providers': {OK}} | config: server.cors.allowedOrigins[0]: "https://app.example.com/ui" is not an origin (expected "https://host[:port]" without a path, or "*")
      {'server': {'cors': {'origins': []}}, 'providers': {OK}}    | config: server.cors.origins: unknown key (known: allowedOrigins, allowCredentials, maxAge)
      {'server': {'maxJsonDepth': 4}, 'providers': {OK}}          | config: server.maxJsonDepth: 4 must be an integer 8..1000 (nesting levels)
      {'server': {'maxHeaderBytes': 100}, 'providers': {OK}}      | config: server.maxHeaderBytes: 100 must be an integer 1024..1048576 (bytes)
      {'degradation': {'scope': 'region'}, 'providers': {OK}}     | config: degradation.scope: "region" is not a scope (expected "model"
      {'degradation': {'thresholds': {'cache': 0.2, 'downgrade': 0.15}}, 'providers': {OK}} | config: degradation.thresholds: cache 0.2 must be below downgrade 0.15
      {'degradation': {'thresholds': {'static': 1.5}}, 'providers': {OK}} | config: degradation.thresholds.static: 1.5 must be a share between 0 (exclusive) and 1
      {'degradation': {'probeShare': '150%'}, 'providers': {OK}}  | config: degradation.probeShare: "150%" must be a share between 0 and 1
      {'degradation': {'downgradeShare': 0}, 'providers': {OK}}   | config: degradation.downgradeShare: 0 must be a share between 0 (exclusive) and 1
      {'degradation': {'window': 60}, 'providers': {OK}}          | config: degradation.window: 60 must be a positive duration
      {'degradation': {'minEvidenceTime': 5}, 'providers': {OK}}  | config: degradation.minEvidenceTime: 5 must be a positive duration
      {'degradation': {'recoveryWindow': '500ms'}, 'providers': {OK}} | config: degradation.recoveryWindow: PT0.5S is below 1 s (the window counts requests per second; use at least 1s, default 5s)
      {'degradation': {'downgrade': {'m': 'qwen2:7b'}}, 'providers': {OK}} | config: degradation.downgrade.m: target "qwen2:7b" is not a configured model (configured models: m)
      {'degradation': {'downgrade': {'x': 'm'}}, 'providers': {OK}} | config: degradation.downgrade.x: "x" is not a configured model
      {'degradation': {'staticReply': {'status': 'degraded'}}, 'providers': {OK}} | config: degradation.staticReply: {"status":"degraded"} must be a message string or an object with a "message" string
      {'degradation': {'mode': 'x'}, 'providers': {OK}}           | config: degradation.mode: unknown key (known: enabled, scope, window
      {'cache': {'freshTtl': '20m'}, 'providers': {OK}}           | config: cache.freshTtl
      {'shared': {'redis': 'http://h:6379'}, 'providers': {OK}}   | config: shared.redis: not a Redis URL (expected redis://host:port)
      {'shared': {'redis': 'localhost:6379'}, 'providers': {OK}}  | config: shared.redis: not a Redis URL (expected redis://host:port)
      {'shared': {'redis': 6379}, 'providers': {OK}}              | config: shared.redis: 6379 is not a Redis URL (expected redis://host:port)
      {'shared': {'redis': 'rediss://h:6380'}, 'providers': {OK}} | config: shared.redis: TLS to Redis (rediss://) is not supported yet
      {'shared': {'redis': 'redis://h:6379/cache'}, 'providers': {OK}} | config: shared.redis: path "/cache" must be a database number like /0
      {'shared': {'limits': true}, 'providers': {OK}}             | config: shared.redis: missing; shared.limits and shared.cache need a Redis URL (redis://host:port)
      {'shared': {'redis': 'redis://h:6379', 'keyPrefix': 'my app'}, 'providers': {OK}} | config: shared.keyPrefix: "my app" must be at most 64 printable ASCII characters without spaces
      {'shared': {'redis': 'redis://h:6379', 'timeout': '0ms'}, 'providers': {OK}} | config: shared.timeout: "0ms" must be a positive duration
      {'shared': {'redis': 'redis://h:6379', 'limit': true}, 'providers': {OK}} | config: shared.limit: unknown key (known: redis, limits, cache, keyPrefix, timeout)
      {'shared': {'redis': 'redis://h:6379', 'cache': 'yes'}, 'providers': {OK}} | config: shared.cache: "yes" must be true or false
      {'cache': {'maxBytes': -1}, 'providers': {OK}}              | config: cache.maxBytes: -1 must be a positive integer (bytes)
      {'cache': {'models': ['nope']}, 'providers': {OK}}          | config: cache.models: "nope" is not a configured model
      {'limits': {'perTenant': {'requestsPerMinute': -5}}, 'providers': {OK}} | config: limits.perTenant.requestsPerMinute: -5 must be a whole number ≥ 0 (0 = no limit)
      {'limits': {'perTenant': {'rpm': 5}}, 'providers': {OK}}    | config: limits.perTenant.rpm: unknown key (known: requestsPerMinute, tokensPerMinute, concurrent)
      {'limits': {'models': {'nope': {'concurrent': 2}}}, 'providers': {OK}} | config: limits.models.nope: "nope" is not a configured model
      {'limits': {'overMaxTokens': 'truncate'}, 'providers': {OK}} | config: limits.overMaxTokens: "truncate" must be "reject" (400 when max_tokens is above the model's maxTokens) or "cap"
      {'providers': {'p': {'baseUrl': 'http://h:1', 'models': [{'id': 'm', 'contextWindow': 100, 'overflowModel': 'big'}]}}} | config: providers.p.models[0].overflowModel: "big" is not a configured model
      {'providers': {'p': {'baseUrl': 'http://h:1', 'models': [{'id': 'm', 'contextWindow': 100, 'overflowModel': 'n'}, {'id': 'n', 'contextWindow': 50}]}}} | config: providers.p.models[0].overflowModel: "n" has contextWindow 50, not larger than 100
      {'timeouts': {'read': '1s'}, 'providers': {OK}}             | config: timeouts.read: unknown key (known: connect, firstToken, idle, total, firstTokenFactor, firstTokenFloor)
      {'upstream': {'retries': 1}, 'providers': {OK}}             | config: upstream.retries: unknown key (known: maxConnectionsPerNode, maxWaitQueuePerNode, maxAttempts, tls)
      {}                                                          | config: providers: missing; add at least one provider
      {'providers': {}}                                           | config: providers: is empty; add at least one provider
      {'providers': []}                                           | config: providers: [] must be a JSON object
      []                                                          | config: top level: [] must be a JSON object like {"providers": {...}}
      {'providers': {OK}, 'models': {'providers': {OK}}}          | config: models.providers: given as well as top-level providers; keep only one of them
      {'models': {'providers': {'p': {'baseUrl': 'x', 'models': [{'id': 'm'}]}}}} | config: models.providers.p.baseUrl: "x" is not a URL
      {'providers': {'p': {'baseUrl': 'http://h:1', 'api': 'anthropic', 'models': [{'id': 'm'}]}}} | config: providers.p.api: "anthropic" is not a known api (expected "openai-completions", "openai" or "ollama")
      {'providers': {'p': {'baseUrl': 'http://h:1', 'apiKey': 42, 'models': [{'id': 'm'}]}}} | config: providers.p.apiKey: 42 must be a string
      {'providers': {'p': {'baseUrl': 'http://h:1'}}}             | config: providers.p.models: missing; list at least one model
      {'providers': {'p': {'baseUrl': 'http://h:1', 'models': []}}} | config: providers.p.models: is empty; list at least one model
      {'providers': {'p': {'baseUrl': 'http://h:1', 'models': {'id': 'm'}}}} | config: providers.p.models: {"id":"m"} must be a JSON array
      {'providers': {'p': {'baseUrl': 'http://h:1', 'models': [{'name': 'x'}]}}} | config: providers.p.models[0].id: missing; give a model id
      {'providers': {'p': {'baseUrl': 'http://h:1', 'models': [{'id': ' '}]}}} | config: providers.p.models[0].id: " " must be a non-empty string
      {'providers': {'p': {'baseUrl': 'http://h:1', 'models': [{'id': 'm', 'maxTokens': 0}]}}} | config: providers.p.models[0].maxTokens: 0 must be a positive integer (tokens)
      {'providers': {'p': {'baseUrl': 'http://h:1', 'models': [{'id': 'm', 'contextWindow': 100, 'maxTokens': 200}]}}} | config: providers.p.models[0].maxTokens: 200 exceeds contextWindow 100; lower maxTokens or raise contextWindow
      {'providers': {'p': {'baseUrl': 'http://h:1', 'models': [{'id': 'm', 'gpuProfile': {'prefetch': 'yes'}}]}}} | config: providers.p.models[0].gpuProfile.prefetch: "yes" must be true or false
      {'providers': {'p': {'baseUrl': 'http://h:1', 'models': [{'id': 'm', 'gpuProfile': {'minVRAM': 'lots'}}]}}} | config: providers.p.models[0].gpuProfile.minVRAM: "lots" must be a memory size like "22G"
      {'providers': {'p': {'baseUrl': 'http://h:1', 'models': [{'id': 'm', 'gpuProfile': true}]}}} | config: providers.p.models[0].gpuProfile: true must be a JSON object
      {'providers': {'p': {'baseUrl': 'http://h:1', 'models': [{'id': 'm'}, {'id': 'm'}]}}} | config: providers.p.models[1].id: "m" is already listed at models[0]; list each model once per provider
      {'providers': {'p': {'models': [{'id': 'm'}]}}}             | config: providers.p.baseUrl: missing; give the provider a baseUrl
      {'providers': {'p': {'baseUrl': 'localhost:11434', 'models': [{'id': 'm'}]}}} | config: providers.p.baseUrl: "localhost:11434" is not a URL (expected http(s)://host:port)
      {'providers': {'p': {'baseUrl': 'ftp://h:1', 'models': [{'id': 'm'}]}}} | config: providers.p.baseUrl: "ftp://h:1" is not a URL
      {'providers': {'p': {'baseUrl': 'http:///v1', 'models': [{'id': 'm'}]}}} | config: providers.p.baseUrl: "http:///v1" is not a URL
      {'providers': {'p': {'baseUrl': 'http://my_node:1', 'models': [{'id': 'm'}]}}} | config: providers.p.baseUrl: "http://my_node:1" has no valid host
      {'providers': {'p': {'baseUrl': 'http://h:1/v1?x=1', 'models': [{'id': 'm'}]}}} | config: providers.p.baseUrl: "http://h:1/v1?x=1" must not carry a query
      {'providers': {'p': {'baseUrl': 'http://h:1/v1#top', 'models': [{'id': 'm'}]}}} | config: providers.p.baseUrl: "http://h:1/v1#top" must not carry a fragment
      {'providers': {'p': {'baseUrl': 'http://u:pw@h:1', 'models': [{'id': 'm'}]}}} | config: providers.p.baseUrl: "http://u:pw@h:1" must not carry user:password@; put the key in apiKey
      {'providers': {'my provider': {'baseUrl': 'http://h:1', 'models': [{'id': 'm'}]}}} | config: providers.my provider: provider name "my provider" is used as the node id and must match
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': []}}} | config: providers.p.nodes: is empty; list at least one node
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': [{'id': 'bad id!', 'baseUrl': 'http://h:1'}]}}} | config: providers.p.nodes[0].id: "bad id!" must match [A-Za-z0-9][A-Za-z0-9._:-]{0,63}
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': [{'baseUrl': 'http://h:1'}]}}} | config: providers.p.nodes[0].id: missing; give a node id
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': [{'id': 'n'}]}}} | config: providers.p.nodes[0].baseUrl: missing; give the node's URL
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': [{'id': 'n', 'baseUrl': 'http://h:1', 'api': 'grpc'}]}}} | config: providers.p.nodes[0].api: "grpc" is not a known api
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': [{'id': 'n', 'baseUrl': 'http://h:1', 'metricsUrl': 'nope'}]}}} | config: providers.p.nodes[0].metricsUrl: "nope" is not a URL
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': [{'id': 'n', 'baseUrl': 'http://h:1', 'gpuType': 10}]}}} | config: providers.p.nodes[0].gpuType: 10 must be a string
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': [{'id': 'n', 'baseUrl': 'http://h:1', 'labels': {'zone': 1}}]}}} | config: providers.p.nodes[0].labels.zone: 1 must be a string
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': [{'id': 'n', 'baseUrl': 'http://h:1', 'gpuTipe': 'A10'}]}}} | config: providers.p.nodes[0].gpuTipe: unknown key (known: id, baseUrl, api, gpuType, metricsUrl, labels, apiKey, repair)
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': ['http://h:1']}}} | config: providers.p.nodes[0]: "http://h:1" must be a JSON object
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': [{'id': 'n', 'baseUrl': 'http://h:1'}, {'id': 'n', 'baseUrl': 'http://h:2'}]}}} | config: providers.p.nodes[1].id: node id "n" is already used by providers.p.nodes[0].id; node ids must be unique across the whole config
      {'providers': {'a': {'baseUrl': 'http://h:1', 'models': [{'id': 'm'}]}, 'b': {'models': [{'id': 'm'}], 'nodes': [{'id': 'a', 'baseUrl': 'http://h:2'}]}}} | config: providers.b.nodes[0].id: node id "a" is already used by providers.a; node ids must be unique
      {'providers': {'a': {'baseUrl': 'http://h:1', 'models': [{'id': 'm', 'contextWindow': 8}]}, 'b': {'baseUrl': 'http://h:2', 'models': [{'id': 'm', 'contextWindow': 16}]}}} | config: providers.b.models: model "m" is also listed by provider "a" with a different contextWindow/maxTokens
      """)
  void rejectsABadValueNamingItsKeyPathTheValueAndTheFix(String config, String expected) {
    assertThat(problems(config.replace("OK", OK_PROVIDER)))
        .as("problems of %s", config)
        .anySatisfy(p -> assertThat(p).startsWith(expected));
  }

  @Test
  void readsTheSharedSectionAndKeepsEverythingLocalWithoutIt() throws Exception {
    SluiceConfig c = ConfigLoader.parse(json("""
        {'shared': {'redis': 'redis://:s3cret@10.0.0.7:6380/2', 'limits': true, 'cache': false,
          'keyPrefix': 'sluice:prod:', 'timeout': '50ms'},
         'providers': {OK}}""".replace("OK", OK_PROVIDER)), "shared.json");
    SharedSettings s = c.shared();
    assertThat(s.redis()).isEqualTo(URI.create("redis://:s3cret@10.0.0.7:6380/2"));
    assertThat(s.sharesLimits()).isTrue();
    assertThat(s.sharesCache()).isFalse();
    assertThat(s.keyPrefix()).isEqualTo("sluice:prod:");
    assertThat(s.timeout()).isEqualTo(java.time.Duration.ofMillis(50));
    assertThat(s.redisAddress()).isEqualTo("10.0.0.7:6380");
    assertThat(s.toString()).as("the password never reaches a log line").doesNotContain("s3cret");

    SharedSettings defaults = ConfigLoader.parse(json("{'shared': {'redis': 'redis://127.0.0.1'}, 'providers': {OK}}"
        .replace("OK", OK_PROVIDER)), "d.json").shared();
    assertThat(defaults.sharesLimits()).isTrue();
    assertThat(defaults.sharesCache()).isTrue();
    assertThat(defaults.redisPort()).isEqualTo(SharedSettings.DEFAULT_REDIS_PORT);
    assertThat(defaults.keyPrefix()).isEqualTo(SharedSettings.DEFAULT_KEY_PREFIX);
    assertThat(defaults.timeout()).isEqualTo(SharedSettings.DEFAULT_TIMEOUT);

    SluiceConfig local = ConfigLoader.parse(json("{'providers': {OK}}".replace("OK", OK_PROVIDER)), "l.json");
    assertThat(local.shared().enabled()).isFalse();
  }

  @Test
  void readsTheDegradationCacheAndLimitSections() throws Exception {
    SluiceConfig c = ConfigLoader.parse(json("""
        {'degradation': {'scope': 'cluster', 'window': '30s', 'minRequests': 10,
                         'thresholds': {'cache': '4%', 'downgrade': 0.1, 'static': 0.25}, 'dwell': '5s',
                         'minEvidenceTime': '0', 'recoveryWindow': '3s',
                         'probeShare': 0.2, 'fallbackOnFailure': false, 'downgrade': {'big': 'small'},
                         'downgradeShare': '25%',
                         'staticReply': {'status': 'degraded', 'message': 'Busy, try later'}},
         'cache': {'maxBytes': 1048576, 'maxEntryBytes': 65536, 'freshTtl': '30s', 'staleTtl': '5m', 'models': ['big']},
         'limits': {'perTenant': {'requestsPerMinute': 60, 'tokensPerMinute': 100000, 'concurrent': 4},
                    'tenants': {'key-0123abcd': {'requestsPerMinute': 600}},
                    'models': {'big': {'concurrent': 16}}, 'overMaxTokens': 'cap'},
         'server': {'maxJsonDepth': 32, 'maxHeaderBytes': 8192},
         'providers': {'p': {'baseUrl': 'http://h:1', 'models': [
            {'id': 'big', 'contextWindow': 24576, 'maxTokens': 4096, 'overflowModel': 'long'},
            {'id': 'long', 'contextWindow': 131072}, {'id': 'small', 'contextWindow': 8192}]}}}
        """), "test");
    var d = c.degradation();
    assertThat(d.scope()).isEqualTo(dev.sluice.degrade.DegradationSettings.Scope.CLUSTER);
    assertThat(d.window()).isEqualTo(java.time.Duration.ofSeconds(30));
    assertThat(d.downgradeShare()).isEqualTo(0.25);
    assertThat(d.cacheThreshold()).isEqualTo(0.04);
    assertThat(d.staticThreshold()).isEqualTo(0.25);
    assertThat(d.minEvidenceTime()).isZero();
    assertThat(d.recoveryWindow()).isEqualTo(java.time.Duration.ofSeconds(3));
    assertThat(d.fallbackOnFailure()).isFalse();
    assertThat(d.downgrade()).containsEntry("big", "small");
    assertThat(d.staticMessage()).isEqualTo("Busy, try later");
    assertThat(c.cache().models()).containsExactly("big");
    assertThat(c.cache().staleTtl()).isEqualTo(java.time.Duration.ofMinutes(5));
    assertThat(c.limits().perTenant()).isEqualTo(new dev.sluice.limit.Limits(60, 100000, 4));
    assertThat(c.limits().forTenant("key-0123abcd")).isEqualTo(new dev.sluice.limit.Limits(600, 100000, 4));
    assertThat(c.limits().models().get("big").concurrent()).isEqualTo(16);
    assertThat(c.limits().overMaxTokens()).isEqualTo(dev.sluice.limit.LimitSettings.OverMaxTokens.CAP);
    assertThat(c.model("big").orElseThrow().model().overflowModel()).isEqualTo("long");
    assertThat(c.server().maxJsonDepth()).isEqualTo(32);
    assertThat(c.server().maxHeaderBytes()).isEqualTo(8192);
  }

  @Test
  void warnsThatEveryOriginMayCallTheGatewayFromABrowser() throws Exception {
    ConfigLoader.Result r = ConfigLoader.parseDetailed(json(
        "{'server': {'cors': {'allowedOrigins': ['*', 'https://App.Example.com:8443']}}, 'providers': {" + OK_PROVIDER
            + "}}"), "t");
    assertThat(r.warnings()).anySatisfy(w -> assertThat(w).startsWith("config: server.cors.allowedOrigins: \"*\" lets "
        + "any web page call this gateway"));
    assertThat(r.config().server().cors().allowedOrigins()).containsExactly("*", "https://app.example.com:8443");
  }

  @Test
  void collectsAllProblemsInsteadOfStoppingAtTheFirst() {
    String config = "{'server': {'port': -1, 'prot': 1}, 'timeouts': {'idle': '30'},"
        + "'providers': {"
        + "  'a': {'baseUrl': 'nope', 'api': 'x', 'models': [{'contextWindow': 0}]},"
        + "  'b': {'models': [{'id': 'm'}], 'nodes': [{'id': 'n', 'baseUrl': 'http://h:1', 'extra': true}]}}}";

    assertThat(problems(config)).containsExactly(
        "config: server.prot: unknown key (known: host, port, maxBodyBytes, maxJsonDepth, maxHeaderBytes, cors, tls, "
            + "requestHeadTimeout, keepAliveTimeout, bodyReadTimeout, maxConnectionsPerClient, maxUploadBytesInProgress, "
            + "maxUploadBytesInProgressPerTenant, trustedProxies, failedCredentials)",
        "config: server.port: -1 must be a TCP port 0..65535 (0 = any free port)",
        "config: timeouts.idle: \"30\" must be a positive duration like \"250ms\", \"2s\", \"5m\" or \"1h\"",
        "config: providers.a.api: \"x\" is not a known api (expected \"openai-completions\", \"openai\" or \"ollama\")",
        "config: providers.a.models[0].id: missing; give a model id like \"qwen3:32b\"",
        "config: providers.a.models[0].contextWindow: 0 must be a positive integer (tokens)",
        "config: providers.a.baseUrl: \"nope\" is not a URL (expected http(s)://host:port)",
        "config: providers.b.nodes[0].extra: unknown key (known: id, baseUrl, api, gpuType, metricsUrl, labels, "
            + "apiKey, repair)");
  }

  @Test
  void toleratesUnknownKeysInProviderBlocksAndModelEntriesAsWarnings() throws Exception {
    String config = "{'models': {'mode': 'merge', 'providers': {'p': {'baseUrl': 'http://h:1', 'headers': {},"
        + "'models': [{'id': 'm', 'reasoning': false, 'input': ['text'], 'cost': {'input': 0},"
        + "'gpuProfile': {'vendor': 'nvidia'}}]}}}}";

    ConfigLoader.Result result = ConfigLoader.parseDetailed(json(config), "t");

    assertThat(result.config().model("m")).isPresent();
    assertThat(result.warnings()).containsExactly(
        "config: models.mode: unknown key, ignored (Sluice reads: providers)",
        "config: models.providers.p.headers: unknown key, ignored (Sluice reads: baseUrl, apiKey, api, models, nodes)",
        "config: models.providers.p.models[0].reasoning: unknown key, ignored (Sluice reads: id, name, contextWindow, "
            + "maxTokens, gpuProfile, overflowModel)",
        "config: models.providers.p.models[0].input: unknown key, ignored (Sluice reads: id, name, contextWindow, "
            + "maxTokens, gpuProfile, overflowModel)",
        "config: models.providers.p.models[0].cost: unknown key, ignored (Sluice reads: id, name, contextWindow, "
            + "maxTokens, gpuProfile, overflowModel)",
        "config: models.providers.p.models[0].gpuProfile.vendor: unknown key, ignored (Sluice reads: minVRAM, "
            + "prefetch, warmupPrompt)");
  }

  @Test
  void warnsThatAProviderBaseUrlIsIgnoredWhenTheProviderListsNodes() throws Exception {
    String config = "{'providers': {'p': {'baseUrl': 'http://h:1', 'models': [{'id': 'm'}],"
        + "'nodes': [{'id': 'n', 'baseUrl': 'http://n:1'}]}}}";

    ConfigLoader.Result result = ConfigLoader.parseDetailed(json(config), "t");

    assertThat(result.config().nodes()).extracting(NodeSpec::id).containsExactly("n");
    assertThat(result.warnings()).containsExactly("config: providers.p.baseUrl: ignored because the provider lists "
        + "nodes[]; each node has its own baseUrl");
  }

  @Test
  void defaultsTheApiToOpenAiCompletionsAndTreatsAnEmptyApiKeyAsNone() throws Exception {
    SluiceConfig config =
        ConfigLoader.parse(json("{'providers': {'p': {'baseUrl': 'http://h:1', 'apiKey': '', 'models': "
            + "[{'id': 'm'}]}}}"), "t");

    assertThat(config.nodes().get(0).api()).isEqualTo(ProviderSpec.DEFAULT_API).isEqualTo(ApiFlavor.OPENAI);
    assertThat(config.nodes().get(0).apiKey()).isNull();
    assertThat(config.model("m").orElseThrow().model())
        .isEqualTo(new ModelSpec("m", "m", 0, 0, null));
  }

  @Test
  void reportsTheLineAndColumnOfMalformedJsonWithAHint() {
    String config = "{\n  \"providers\": {\n    \"p\": {\"baseUrl\": \"http://h:1\",}\n  }\n}";

    assertThat(problems(config, "/etc/sluice.json")).singleElement().satisfies(p -> assertThat(p)
        .startsWith("config: /etc/sluice.json at line 3, column 35 is not valid JSON: ")
        .contains("trailing comma"));
  }

  @Test
  void reportsADuplicateKeyAsMalformedJsonNamingTheKey() {
    String config = "{\"server\": {\"port\": 1, \"port\": 2}, \"providers\": {}}";

    assertThat(problems(config, "t")).singleElement().satisfies(p -> assertThat(p)
        .startsWith("config: t at line 1, column ")
        .contains("Duplicate field 'port'")
        .contains("each key may appear only once"));
  }

  @Test
  void reportsContentAfterTheTopLevelObjectInPlainLanguage() {
    assertThat(problems("{\"providers\": {}} {}", "t")).singleElement().satisfies(p -> assertThat(p)
        .startsWith("config: t at line 1, column ")
        .contains("more content after the end of the top-level object"));
  }

  @Test
  void reportsAnEmptyFileAsEmpty() {
    assertThat(problems("  \n", "t"))
        .containsExactly("config: t is empty (expected a JSON object with \"providers\")");
  }

  @Test
  void cutsLongOffendingValuesToEightyCharacters() {
    String longUrl = "x".repeat(200);
    String config = "{'providers': {'p': {'baseUrl': '" + longUrl + "', 'models': [{'id': 'm'}]}}}";

    assertThat(problems(config)).containsExactly(
        "config: providers.p.baseUrl: \"" + "x".repeat(80) + "...\" is not a URL (expected http(s)://host:port)");
  }

  @Test
  void loadNamesTheMissingFileAndTheFix(@TempDir Path dir) {
    Path missing = dir.resolve("nope.json");

    ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(missing));

    assertThat(e.problems()).containsExactly("config: " + missing + ": no such file (check the path)");
  }

  @Test
  void loadKeepsTheFilePathAsTheSource() throws Exception {
    Path file = resource("brief-providers.json");

    assertThat(ConfigLoader.load(file).source()).isEqualTo(file.toString());
  }

  @Test
  void theExceptionMessageListsEveryProblemOnItsOwnLine() {
    assertThatThrownBy(() -> ConfigLoader.parse(json("{'server': {'port': -1}, 'providers': {}}"), "t"))
        .isInstanceOf(ConfigException.class)
        .hasMessage("config: server.port: -1 must be a TCP port 0..65535 (0 = any free port)\n"
            + "config: providers: is empty; add at least one provider with a baseUrl and models");
  }

  /** Single quotes make the inline cases readable; none of the cases needs an apostrophe. */
  private static String json(String singleQuoted) {
    return singleQuoted.replace('\'', '"');
  }

  private static List<String> problems(String singleQuoted) {
    return problems(json(singleQuoted), "t");
  }

  private static List<String> problems(String json, String source) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse(json, source));
    assertThat(e).as("expected a ConfigException for %s", json).isNotNull();
    return e.problems();
  }

  static String fixture(String name) throws IOException {
    try (InputStream in = ConfigLoaderTest.class.getResourceAsStream("/config/" + name)) {
      return new String(Objects.requireNonNull(in, name).readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static Path resource(String name) throws URISyntaxException {
    return Path.of(Objects.requireNonNull(ConfigLoaderTest.class.getResource("/config/" + name), name).toURI());
  }

  @Test
  void readsANodesRepairActionAndRefusesAnEmptyOne() throws Exception {
    SluiceConfig c = ConfigLoader.parse("{\"providers\":{\"p\":{\"models\":[{\"id\":\"m\"}],\"nodes\":[{\"id\":\"n\","
        + "\"baseUrl\":\"http://h:1\",\"repair\":{\"command\":\"/opt/sluice/healthcheck.sh\",\"webhook\":\"http://ops:9000/hook\"}}]}}}", "t");
    assertThat(c.node("n").orElseThrow().repair())
        .isEqualTo(new RepairAction("/opt/sluice/healthcheck.sh", java.net.URI.create("http://ops:9000/hook")));
    assertThatThrownBy(() -> ConfigLoader.parse("{\"providers\":{\"p\":{\"models\":[{\"id\":\"m\"}],\"nodes\":[{\"id\":\"n\","
        + "\"baseUrl\":\"http://h:1\",\"repair\":{}}]}}}", "t"))
        .hasMessageContaining("providers.p.nodes[0].repair: needs \"command\" or \"webhook\"");
  }
}

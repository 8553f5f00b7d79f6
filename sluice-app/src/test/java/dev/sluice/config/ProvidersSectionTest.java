package dev.sluice.config;

import static dev.sluice.config.ConfigTexts.OK_PROVIDER;
import static dev.sluice.config.ConfigTexts.fixture;
import static dev.sluice.config.ConfigTexts.json;
import static dev.sluice.config.ConfigTexts.problems;
import static dev.sluice.config.ConfigTexts.resource;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.api.ApiFlavor;
import dev.sluice.api.NodeDialect;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import dev.sluice.support.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Providers in Clawdbot's format, their models and Sluice's nodes. */
class ProvidersSectionTest {
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

  @ParameterizedTest(name = "api {0}")
  @CsvSource({
    "anthropic-messages, ANTHROPIC",
    "openai-responses,   RESPONSES",
  })
  void loadsTheBriefsProviderBlockWithAnAgentDialectApiUnchanged(String api, NodeDialect dialect) throws Exception {
    String block = fixture("brief-providers.json").replace("\"openai-completions\"", "\"" + api + "\"");

    ConfigLoader.Result result = ConfigLoader.parseDetailed(block, "brief-providers.json");

    assertBriefConfig(result.config());
    assertThat(result.warnings()).isEmpty();
    NodeSpec node = result.config().nodes().get(0);
    assertThat(node.dialects()).as("the node also serves chat completions, so it is probed and warmed through them")
        .containsExactlyInAnyOrder(dialect, NodeDialect.OPENAI);
    assertThat(node.dialectsDeclared()).as("the prober may still discover more").isFalse();
  }

  @Test
  void derivesEachNodesDialectsFromItsApi() throws Exception {
    SluiceConfig config = ConfigLoader.parse(json("{'providers': {'p': {'api': 'ollama', 'models': [{'id': 'm'}], "
        + "'nodes': [{'id': 'o', 'baseUrl': 'http://h:1'}, {'id': 'v', 'baseUrl': 'http://h:2', 'api': 'openai'},"
        + "{'id': 'r', 'baseUrl': 'http://h:3', 'api': 'openai-responses'}]}}}"), "t");

    assertThat(config.node("o").orElseThrow().dialects())
        .containsExactlyInAnyOrder(NodeDialect.OLLAMA, NodeDialect.OPENAI);
    assertThat(config.node("v").orElseThrow().dialects()).containsExactly(NodeDialect.OPENAI);
    assertThat(config.node("r").orElseThrow().api()).isEqualTo(ApiFlavor.OPENAI);
    assertThat(config.node("r").orElseThrow().dialects())
        .containsExactlyInAnyOrder(NodeDialect.RESPONSES, NodeDialect.OPENAI);
    assertThat(config.nodes()).noneMatch(NodeSpec::dialectsDeclared);
  }

  @Test
  void aProvidersDialectsApplyToItsNodesAndANodesOwnListWins() throws Exception {
    SluiceConfig config = ConfigLoader.parse(json("{'providers': {'p': {'api': 'anthropic-messages', "
        + "'dialects': ['ollama', 'openai', 'anthropic', 'responses'], 'models': [{'id': 'm'}], 'nodes': ["
        + "{'id': 'a', 'baseUrl': 'http://h:1'},"
        + "{'id': 'b', 'baseUrl': 'http://h:2', 'api': 'ollama', 'dialects': ['ollama', 'ollama']},"
        + "{'id': 'c', 'baseUrl': 'http://h:3', 'dialects': ['openai']}]}}}"), "t");

    NodeSpec a = config.node("a").orElseThrow();
    assertThat(a.dialects()).containsExactlyInAnyOrder(NodeDialect.values());
    assertThat(a.api()).as("an ollama entry does not change how the node is probed").isEqualTo(ApiFlavor.OPENAI);
    assertThat(config.node("b").orElseThrow().dialects()).containsExactly(NodeDialect.OLLAMA);
    assertThat(config.node("b").orElseThrow().api()).isEqualTo(ApiFlavor.OLLAMA);
    assertThat(config.node("c").orElseThrow().dialects()).as("replaces what anthropic-messages implies")
        .containsExactly(NodeDialect.OPENAI);
    assertThat(config.nodes()).allMatch(NodeSpec::dialectsDeclared);
  }

  @Test
  void aSingleNodeProviderReadsItsDialects() throws Exception {
    SluiceConfig config = ConfigLoader.parse(json("{'providers': {'p': {'baseUrl': 'http://h:1', "
        + "'dialects': ['openai', 'responses'], 'models': [{'id': 'm'}]}}}"), "t");

    assertThat(config.nodes().get(0).dialects()).containsExactlyInAnyOrder(NodeDialect.OPENAI, NodeDialect.RESPONSES);
    assertThat(config.nodes().get(0).dialectsDeclared()).isTrue();
  }

  @Test
  void aNodeAddedAtRunTimeTakesTheDialectsOfItsProvidersFirstNodeUnlessItListsItsOwn() throws Exception {
    SluiceConfig config = ConfigLoader.parse(json("{'providers': {"
        + "'api': {'api': 'anthropic-messages', 'models': [{'id': 'm'}], 'nodes': [{'id': 'a', 'baseUrl': 'http://h:1'}]},"
        + "'listed': {'dialects': ['ollama', 'anthropic'], 'models': [{'id': 'm'}], "
        + "'nodes': [{'id': 'l', 'baseUrl': 'http://h:2'}]}}}"), "t");
    ProviderSpec byApi = config.providers().get(0);
    ProviderSpec listed = config.providers().get(1);

    NodeSpec a2 = ConfigLoader.parseNode(
        Json.MAPPER.readTree(json("{'id': 'a2', 'baseUrl': 'http://h:3'}")), byApi, List.of("a", "l"));
    NodeSpec l2 = ConfigLoader.parseNode(
        Json.MAPPER.readTree(json("{'id': 'l2', 'baseUrl': 'http://h:4'}")), listed, List.of("a", "l"));
    NodeSpec own = ConfigLoader.parseNode(Json.MAPPER.readTree(json(
        "{'id': 'o', 'baseUrl': 'http://h:5', 'dialects': ['openai', 'responses']}")), listed, List.of("a", "l"));

    assertThat(a2.dialects()).containsExactlyInAnyOrder(NodeDialect.ANTHROPIC, NodeDialect.OPENAI);
    assertThat(a2.dialectsDeclared()).isFalse();
    assertThat(l2.dialects()).containsExactlyInAnyOrder(NodeDialect.OLLAMA, NodeDialect.ANTHROPIC);
    assertThat(l2.dialectsDeclared()).isTrue();
    assertThat(own.dialects()).isEqualTo(Set.of(NodeDialect.OPENAI, NodeDialect.RESPONSES));
    assertThatThrownBy(() -> ConfigLoader.parseNode(Json.MAPPER.readTree(json(
        "{'id': 'x', 'baseUrl': 'http://h:6', 'dialects': ['anthropic']}")), listed, List.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("node.dialects: [\"anthropic\"] names neither \"openai\" nor \"ollama\"");
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

  @Test
  void toleratesUnknownKeysInProviderBlocksAndModelEntriesAsWarnings() throws Exception {
    String config = "{'models': {'mode': 'merge', 'providers': {'p': {'baseUrl': 'http://h:1', 'headers': {},"
        + "'models': [{'id': 'm', 'reasoning': false, 'input': ['text'], 'cost': {'input': 0},"
        + "'gpuProfile': {'vendor': 'nvidia'}}]}}}}";

    ConfigLoader.Result result = ConfigLoader.parseDetailed(json(config), "t");

    assertThat(result.config().model("m")).isPresent();
    assertThat(result.warnings()).containsExactly(
        "config: models.mode: unknown key, ignored (Sluice reads: providers)",
        "config: models.providers.p.headers: unknown key, ignored (Sluice reads: baseUrl, apiKey, api, dialects, models, nodes)",
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
  void readsANodesRepairActionAndRefusesAnEmptyOne() throws Exception {
    SluiceConfig c = ConfigLoader.parse("{\"providers\":{\"p\":{\"models\":[{\"id\":\"m\"}],\"nodes\":[{\"id\":\"n\","
        + "\"baseUrl\":\"http://h:1\",\"repair\":{\"command\":\"/opt/sluice/healthcheck.sh\",\"webhook\":\"http://ops:9000/hook\"}}]}}}", "t");
    assertThat(c.node("n").orElseThrow().repair())
        .isEqualTo(new RepairAction("/opt/sluice/healthcheck.sh", URI.create("http://ops:9000/hook")));
    assertThatThrownBy(() -> ConfigLoader.parse("{\"providers\":{\"p\":{\"models\":[{\"id\":\"m\"}],\"nodes\":[{\"id\":\"n\","
        + "\"baseUrl\":\"http://h:1\",\"repair\":{}}]}}}", "t"))
        .hasMessageContaining("providers.p.nodes[0].repair: needs \"command\" or \"webhook\"");
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      {}                                                          | config: providers: missing; add at least one provider
      {'providers': {}}                                           | config: providers: is empty; add at least one provider
      {'providers': []}                                           | config: providers: [] must be a JSON object
      {'providers': {OK}, 'models': {'providers': {OK}}}          | config: models.providers: given as well as top-level providers; keep only one of them
      {'models': {'providers': {'p': {'baseUrl': 'x', 'models': [{'id': 'm'}]}}}} | config: models.providers.p.baseUrl: "x" is not a URL
      {'providers': {'p': {'baseUrl': 'http://h:1', 'api': 'anthropic', 'models': [{'id': 'm'}]}}} | config: providers.p.api: "anthropic" is not a known api (expected "openai-completions", "openai", "ollama", "anthropic-messages" or "openai-responses")
      {'providers': {'p': {'baseUrl': 'http://h:1', 'dialects': 'openai', 'models': [{'id': 'm'}]}}} | config: providers.p.dialects: "openai" must be a non-empty array of the APIs the node serves, e.g. ["openai", "anthropic"] (each one of "openai", "ollama", "anthropic" or "responses"), or be left out to use those of "api"
      {'providers': {'p': {'baseUrl': 'http://h:1', 'dialects': [], 'models': [{'id': 'm'}]}}} | config: providers.p.dialects: [] must be a non-empty array
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': [{'id': 'n', 'baseUrl': 'http://h:1', 'dialects': ['openai', 'anthropik']}]}}} | config: providers.p.nodes[0].dialects[1]: "anthropik" is not a dialect (expected "openai", "ollama", "anthropic" or "responses")
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': [{'id': 'n', 'baseUrl': 'http://h:1', 'dialects': [7]}]}}} | config: providers.p.nodes[0].dialects[0]: 7 is not a dialect (expected "openai", "ollama", "anthropic" or "responses")
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': [{'id': 'n', 'baseUrl': 'http://h:1', 'dialects': ['anthropic', 'responses']}]}}} | config: providers.p.nodes[0].dialects: ["anthropic","responses"] names neither "openai" nor "ollama"; the gateway probes and warms nodes through one of them, so add the one the node serves, e.g. ["openai", "anthropic"]
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
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': [{'id': 'n', 'baseUrl': 'http://h:1', 'gpuTipe': 'A10'}]}}} | config: providers.p.nodes[0].gpuTipe: unknown key (known: id, baseUrl, api, dialects, gpuType, metricsUrl, labels, apiKey, repair, maxConcurrent)
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': ['http://h:1']}}} | config: providers.p.nodes[0]: "http://h:1" must be a JSON object
      {'providers': {'p': {'models': [{'id': 'm'}], 'nodes': [{'id': 'n', 'baseUrl': 'http://h:1'}, {'id': 'n', 'baseUrl': 'http://h:2'}]}}} | config: providers.p.nodes[1].id: node id "n" is already used by providers.p.nodes[0].id; node ids must be unique across the whole config
      {'providers': {'a': {'baseUrl': 'http://h:1', 'models': [{'id': 'm'}]}, 'b': {'models': [{'id': 'm'}], 'nodes': [{'id': 'a', 'baseUrl': 'http://h:2'}]}}} | config: providers.b.nodes[0].id: node id "a" is already used by providers.a; node ids must be unique
      """)
  void rejectsABadValueNamingItsKeyPathTheValueAndTheFix(String config, String expected) {
    assertThat(problems(config.replace("OK", OK_PROVIDER)))
        .as("problems of %s", config)
        .anySatisfy(p -> assertThat(p).startsWith(expected));
  }
}

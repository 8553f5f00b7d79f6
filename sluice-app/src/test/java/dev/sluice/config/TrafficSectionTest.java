package dev.sluice.config;

import static dev.sluice.config.ConfigTexts.OK_PROVIDER;
import static dev.sluice.config.ConfigTexts.json;
import static dev.sluice.config.ConfigTexts.problems;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import dev.sluice.flow.Band;
import dev.sluice.routing.FirstTokenDeadline;
import dev.sluice.routing.StreamDeadlines;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The {@code timeouts}, {@code upstream} and {@code routing} sections. */
class TrafficSectionTest {
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
  void affinityIsOnByDefaultAndReadFromRoutingAffinity() throws Exception {
    SluiceConfig defaults = ConfigLoader.parse(json("{'providers': {OK}}".replace("OK", OK_PROVIDER)), "d.json");
    assertThat(defaults.routing().affinity()).isEqualTo(AffinitySettings.defaults());
    assertThat(defaults.routing().affinity().settings(1).releasePenaltyMillis()).isEqualTo(3_000);
    assertThat(defaults.routing().affinity().indexEntriesPerNode(4)).isEqualTo((16 << 20) / 72 / 4);

    SluiceConfig config = ConfigLoader.parse(json(("{'routing': {'policy': 'least-delay', 'affinity': {'enabled': "
        + "false, 'releasePenalty': '250ms', 'maxSessions': 5000, 'indexMemory': '2MB'}}, 'providers': {OK}}")
        .replace("OK", OK_PROVIDER)), "t.json");
    assertThat(config.routing().affinity())
        .isEqualTo(new AffinitySettings(false, Duration.ofMillis(250), 5_000, 2L << 20));
    assertThat(ConfigLoader.parse(json("{'routing': {'affinity': {'releasePenalty': '0', 'indexMemory': 4096}}, "
        + "'providers': {OK}}".replace("OK", OK_PROVIDER)), "z.json").routing().affinity())
        .extracting(AffinitySettings::releasePenalty, AffinitySettings::indexMemoryBytes)
        .containsExactly(Duration.ZERO, 4_096L);
  }

  @Test
  void routeExplanationsAreOffByDefaultAndTurnedOnByRoutingExplain() throws Exception {
    assertThat(ConfigLoader.parse(json("{'providers': {OK}}".replace("OK", OK_PROVIDER)), "d.json").routing()
        .explain()).isFalse();
    assertThat(ConfigLoader.parse(json("{'routing': {'explain': true}, 'providers': {OK}}"
        .replace("OK", OK_PROVIDER)), "e.json").routing().explain()).isTrue();
  }

  @Test
  void streamDeadlinesPerModelAndResumptionAreReadWithTheirDefaults() throws Exception {
    SluiceConfig defaults = ConfigLoader.parse(json("{'providers': {OK}}".replace("OK", OK_PROVIDER)), "d.json");
    assertThat(defaults.timeouts().streams("any"))
        .isEqualTo(new StreamDeadlines(Duration.ofSeconds(30), Duration.ofMinutes(10)));
    assertThat(defaults.upstream().resumption()).isEqualTo(ResumptionSettings.defaults());
    assertThat(defaults.upstream().resumption().maxFor("any")).isEqualTo(2);

    SluiceConfig config = ConfigLoader.parse(json(("{'timeouts': {'idle': '20s', 'models': {'agent': {'idle': '5s', "
        + "'total': '30m'}, 'batch': {'total': '1h'}}}, 'upstream': {'resumption': {'maxPerStream': 1, "
        + "'offModels': ['audit']}}, 'providers': {OK}}").replace("OK", OK_PROVIDER)), "t.json");
    assertThat(config.timeouts().streams("agent"))
        .isEqualTo(new StreamDeadlines(Duration.ofSeconds(5), Duration.ofMinutes(30)));
    assertThat(config.timeouts().streams("batch"))
        .isEqualTo(new StreamDeadlines(Duration.ofSeconds(20), Duration.ofHours(1)));
    assertThat(config.timeouts().streams("other"))
        .isEqualTo(new StreamDeadlines(Duration.ofSeconds(20), Duration.ofMinutes(10)));
    assertThat(config.upstream().resumption().maxFor("agent")).isEqualTo(1);
    assertThat(config.upstream().resumption().maxFor("audit")).isZero();
    assertThat(ConfigLoader.parse(json("{'upstream': {'resumption': {'enabled': false}}, 'providers': {OK}}"
        .replace("OK", OK_PROVIDER)), "o.json").upstream().resumption().maxFor("agent")).isZero();
  }

  @Test
  void thePrefixHashPolicyIsAccepted() throws Exception {
    assertThat(ConfigLoader.parse(json("{'routing': {'policy': 'prefix-hash'}, 'providers': {OK}}"
        .replace("OK", OK_PROVIDER)), "p.json").routing().policy()).isEqualTo("prefix-hash");
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
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
      {'timeouts': {'read': '1s'}, 'providers': {OK}}             | config: timeouts.read: unknown key (known: connect, firstToken, idle, total, firstTokenFactor, firstTokenFloor, models)
      {'upstream': {'retries': 1}, 'providers': {OK}}             | config: upstream.retries: unknown key (known: maxConnectionsPerNode, maxWaitQueuePerNode, maxAttempts, tls, resumption)
      {'timeouts': {'models': {'m': {'idle': '0s'}}}, 'providers': {OK}} | config: timeouts.models.m.idle: "0s" must be a positive duration
      {'timeouts': {'models': {'m': {'idle': '5s', 'total': '1s'}}}, 'providers': {OK}} | config: timeouts.models.m.total: 1000ms is below its idle deadline (5000ms)
      {'timeouts': {'models': {'m': {'first': '5s'}}}, 'providers': {OK}} | config: timeouts.models.m.first: unknown key (known: idle, total)
      {'upstream': {'resumption': {'maxPerStream': 3}}, 'providers': {OK}} | config: upstream.resumption.maxPerStream: 3 must be an integer 0..2
      {'upstream': {'resumption': {'offModels': 'm'}}, 'providers': {OK}} | config: upstream.resumption.offModels: "m" must be a list of model ids
      {'upstream': {'resumption': {'on': true}}, 'providers': {OK}} | config: upstream.resumption.on: unknown key (known: enabled, maxPerStream, offModels)
      {'routing': {'affinity': {'sticky': true}}, 'providers': {OK}} | config: routing.affinity.sticky: unknown key (known: enabled, releasePenalty, maxSessions, indexMemory)
      {'routing': {'affinity': true}, 'providers': {OK}}          | config: routing.affinity: true must be a JSON object
      {'routing': {'affinity': {'enabled': 'yes'}}, 'providers': {OK}} | config: routing.affinity.enabled: "yes" must be true or false
      {'routing': {'affinity': {'releasePenalty': '-1s'}}, 'providers': {OK}} | config: routing.affinity.releasePenalty: "-1s" must be a positive duration like "250ms"
      {'routing': {'affinity': {'maxSessions': 0}}, 'providers': {OK}} | config: routing.affinity.maxSessions: 0 must be a positive integer (sessions, e.g. 100000)
      {'routing': {'affinity': {'indexMemory': '16 parsecs'}}, 'providers': {OK}} | config: routing.affinity.indexMemory: "16 parsecs" must be a positive size like "512KB", "16MB" or "1GB", or a number of bytes
      {'routing': {'affinity': {'indexMemory': 10}}, 'providers': {OK}} | config: routing.affinity.indexMemory: 10 bytes cannot hold one prefix (72 bytes each): give at least "1MB"
      {'routing': {'explain': 'yes'}, 'providers': {OK}}          | config: routing.explain: "yes" must be true or false
      {'routing': {'policy': 'sticky'}, 'providers': {OK}}        | config: routing.policy: "sticky" is not a routing policy (expected one of round-robin, least-request, gpu-weighted, least-delay, least-delay-no-admission, queue-kv, prefix-hash)
      """)
  void rejectsABadValueNamingItsKeyPathTheValueAndTheFix(String config, String expected) {
    assertThat(problems(config.replace("OK", OK_PROVIDER)))
        .as("problems of %s", config)
        .anySatisfy(p -> assertThat(p).startsWith(expected));
  }

  @Test
  void flowControlIsReadFromRoutingFlowAndANodesOwnCapFromItsMaxConcurrent() throws Exception {
    SluiceConfig config = ConfigLoader.parse(json("{'routing': {'ttftBudget': '3s', 'flow': {'queueLength': 64, 'batchMaxWait': '20m', "
        + "'maxConcurrent': {'a10': 4}, 'defaultWeight': 2, 'tenants': {'batchjobs': {'weight': 1, 'maxPriority': "
        + "'batch'}, 'acme': {'weight': 3}}}}, 'providers': {'p': {'baseUrl': 'http://h:1', 'models': [{'id': 'm'}], "
        + "'nodes': [{'id': 'n1', 'baseUrl': 'http://h:1', 'maxConcurrent': 2}, {'id': 'n2', 'baseUrl': 'http://h:2'}]}}}"),
        "t.json");
    FlowSettings flow = config.routing().flow();
    assertThat(flow.enabled()).isTrue();
    assertThat(flow.queueLength()).isEqualTo(64);
    assertThat(flow.maxWait(config.routing().ttftBudget())).as("maxWait defaults to the TTFT budget")
        .isEqualTo(Duration.ofSeconds(3));
    assertThat(flow.batchMaxWait()).isEqualTo(Duration.ofMinutes(20));
    assertThat(flow.gpuMaxConcurrent("A10")).isEqualTo(4);
    assertThat(flow.weight("acme")).isEqualTo(3);
    assertThat(flow.weight("someone-else")).isEqualTo(2);
    assertThat(flow.maxBand("batchjobs")).isEqualTo(Band.BATCH);
    assertThat(flow.maxBand("acme")).isEqualTo(Band.INTERACTIVE);
    assertThat(config.nodes()).extracting(NodeSpec::id, NodeSpec::maxConcurrent)
        .containsExactly(tuple("n1", 2), tuple("n2", 0));
    assertThat(ConfigLoader.parse(json("{'routing': {'flow': {'enabled': false, 'maxWait': '750ms'}}, "
        + "'providers': {OK}}".replace("OK", OK_PROVIDER)), "o.json").routing().flow())
        .extracting(FlowSettings::enabled, f -> f.maxWait(Duration.ofSeconds(2)), FlowSettings::tenants)
        .containsExactly(false, Duration.ofMillis(750), Map.of());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      {'routing': {'flow': {'queueLength': -1}}, 'providers': {OK}}                | config: routing.flow.queueLength: -1 must be a whole number of requests ≥ 0
      {'routing': {'flow': {'queueLength': 'many'}}, 'providers': {OK}}            | config: routing.flow.queueLength: "many" must be a whole number of requests ≥ 0
      {'routing': {'flow': {'maxWait': 'soon'}}, 'providers': {OK}}                | config: routing.flow.maxWait: "soon"
      {'routing': {'flow': {'maxConcurrent': {'A10': 0}}}, 'providers': {OK}}      | config: routing.flow.maxConcurrent.A10: 0 must be a positive whole number of requests a node of this GPU type runs at once, e.g. 4
      {'routing': {'flow': {'tenants': {'acme': {'maxPriority': 'urgent'}}}}, 'providers': {OK}} | config: routing.flow.tenants.acme.maxPriority: "urgent" is not a priority band (expected interactive or batch)
      {'routing': {'flow': {'tenants': {'acme': {'weight': 0}}}}, 'providers': {OK}} | config: routing.flow.tenants.acme.weight
      {'routing': {'flow': {'queue': 5}}, 'providers': {OK}}                       | config: routing.flow.queue: unknown key (known: enabled, queueLength, maxWait, batchMaxWait, maxConcurrent, tenants, defaultWeight)
      {'providers': {'p': {'baseUrl': 'http://h:1', 'models': [{'id': 'm'}], 'nodes': [{'id': 'n', 'baseUrl': 'http://h:1', 'maxConcurrent': 0}]}}} | config: providers.p.nodes[0].maxConcurrent: 0 must be a positive whole number of requests the node runs at once, e.g. 4 (leave it out to let the gateway learn the cap)
      """)
  void rejectsABadFlowControlValueNamingItsKeyPathTheValueAndTheFix(String config, String expected) {
    assertThat(problems(config.replace("OK", OK_PROVIDER)))
        .as("problems of %s", config)
        .anySatisfy(p -> assertThat(p).startsWith(expected));
  }
}

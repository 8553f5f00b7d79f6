package dev.sluice.sim;

import static dev.sluice.sim.SimHttp.chat;
import static dev.sluice.sim.SimHttp.get;
import static dev.sluice.sim.SimHttp.json;
import static dev.sluice.sim.SimHttp.post;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class SimNodeFaultTest extends SimNodesFixture {
  private static final SimOptions INSTANT = SimOptions.defaults().withTimeScale(0);
  private static final Duration SILENCE = Duration.ofMillis(400);

  @Test
  void refusesConnectionsUntilClearedThenListensAgainOnTheSamePort() throws Exception {
    SimNode node = start(INSTANT);
    int port = node.port();

    node.injectFault(SimFault.node(SimFault.Kind.REFUSE_CONNECTIONS));

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThatThrownBy(() -> get(node, "/health")).isInstanceOf(ConnectException.class));
    assertThat(node.listening()).isFalse();
    node.clearFaults();
    await().atMost(Duration.ofSeconds(5)).ignoreExceptions().until(() -> get(node, "/health").statusCode() == 200);
    assertThat(node.port()).isEqualTo(port);
    assertThat(node.listening()).isTrue();
  }

  @Test
  void turnsRefuseConnectionsOnThroughTheControlEndpoint() throws Exception {
    SimNode node = start(INSTANT);

    HttpResponse<String> on = post(node, "/sim/faults", "{\"kind\":\"refuse-connections\"}");

    assertThat(on.statusCode()).isEqualTo(204);
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThatThrownBy(() -> get(node, "/")).isInstanceOf(ConnectException.class));
  }

  @Test
  void aNodeLevelFaultPostedWithSecondsClearsItself() throws Exception {
    SimNode node = start(INSTANT);

    HttpResponse<String> on = post(node, "/sim/faults", "{\"kind\":\"refuse-connections\",\"seconds\":0.5}");

    assertThat(on.statusCode()).isEqualTo(204);
    await().atMost(Duration.ofSeconds(5)).until(() -> !node.listening());
    await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> get(node, "/health").statusCode() == 200);
    assertThat(post(node, "/sim/faults", "{\"kind\":\"slow\",\"seconds\":-1}").statusCode()).isEqualTo(400);
  }

  @Test
  void blackHoleAcceptsConnectionsButNeverAnswersHealthOrGeneration() throws Exception {
    SimNode node = start(INSTANT);
    post(node, "/sim/faults", "{\"kind\":\"black-hole\"}");

    assertThatThrownBy(() -> get(node, "/health", SILENCE)).isInstanceOf(HttpTimeoutException.class);
    assertThatThrownBy(() -> post(node, "/api/chat", chat("qwen3:32b", 3, false), SILENCE))
        .isInstanceOf(HttpTimeoutException.class);
    assertThat(SimHttp.HTTP.send(java.net.http.HttpRequest.newBuilder(
        java.net.URI.create(node.baseUrl() + "/sim/faults")).DELETE().build(),
        HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(204);
    assertThat(get(node, "/health").statusCode()).isEqualTo(200);
  }

  @Test
  void hungEngineAnswersHealthTagsAndVersionButNeverStartsGenerating() throws Exception {
    SimNode node = start(INSTANT);
    node.injectFault(SimFault.parse("hung-engine"));

    assertThat(node.control().hung()).isTrue();
    assertThat(get(node, "/health").statusCode()).isEqualTo(200);
    assertThat(get(node, "/api/tags").statusCode()).isEqualTo(200);
    assertThat(get(node, "/api/version").statusCode()).isEqualTo(200);
    assertThatThrownBy(() -> post(node, "/api/chat", chat("qwen3:32b", 3, true), SILENCE))
        .isInstanceOf(HttpTimeoutException.class);
    node.clearFault(SimFault.Kind.HUNG_ENGINE);
    assertThat(node.control().hung()).isFalse();
    assertThat(post(node, "/api/chat", chat("qwen3:32b", 3, false)).statusCode()).isEqualTo(200);
  }

  @Test
  void errorRateOf100PercentAnswers503WithRetryAfterAndOllamasBusyBody() throws Exception {
    SimNode node = start(INSTANT);
    node.injectFault(SimFault.parse("error-rate:percent=100,status=503"));

    for (int i = 0; i < 3; i++) {
      HttpResponse<String> response = post(node, "/api/chat", chat("qwen3:32b", 3, false));
      assertThat(response.statusCode()).isEqualTo(503);
      assertThat(response.headers().firstValue("retry-after")).hasValue("1");
      assertThat(response.body()).isEqualTo(SimFault.OLLAMA_BUSY_BODY);
    }
  }

  @Test
  void errorRate429CarriesRetryAfterAnd500DoesNot() throws Exception {
    SimNode limited = start(INSTANT);
    SimNode broken = start(INSTANT);
    limited.injectFault(SimFault.errorRate(100, 429));
    broken.injectFault(SimFault.errorRate(100, 500));

    HttpResponse<String> tooMany = post(limited, "/v1/chat/completions",
        "{\"model\":\"qwen3:32b\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":3}");
    HttpResponse<String> failed = post(broken, "/api/chat", chat("qwen3:32b", 3, false));

    assertThat(tooMany.statusCode()).isEqualTo(429);
    assertThat(tooMany.headers().firstValue("retry-after")).hasValue("1");
    assertThat(failed.statusCode()).isEqualTo(500);
    assertThat(failed.headers().firstValue("retry-after")).isEmpty();
  }

  @Test
  void errorRateFailsAboutItsShareOfRequestsAndRepeatsUnderTheSameSeed() throws Exception {
    SimNode first = start(INSTANT.withSeed(7));
    SimNode second = start(INSTANT.withSeed(7));
    first.injectFault(SimFault.errorRate(30, 500));
    second.injectFault(SimFault.errorRate(30, 500));

    List<Integer> firstStatuses = statuses(first, 60);
    List<Integer> secondStatuses = statuses(second, 60);

    assertThat(firstStatuses).isEqualTo(secondStatuses);
    long failures = firstStatuses.stream().filter(status -> status == 500).count();
    assertThat(failures).isBetween(8L, 30L);
  }

  @Test
  void dieAfterChunksResetsEveryStreamAfterThatManyChunksUntilCleared() throws Exception {
    // timed so the chunks reach the client before the reset does
    SimNode node = start(SimOptions.defaults().withTimeScale(10));
    node.injectFault(SimFault.parse("die-after-chunks:chunks=3"));

    for (int i = 0; i < 2; i++) {
      List<String> lines = SimHttp.newLines();
      Throwable failure = SimHttp.readLines(SimHttp.postStreaming(node, "/api/chat", chat("qwen3:32b", 10, true)),
          lines);
      assertThat(failure).as("request %d", i).isNotNull();
      assertThat(lines).hasSize(3);
    }
    node.clearFaults();
    List<String> lines = SimHttp.newLines();
    assertThat(SimHttp.readLines(SimHttp.postStreaming(node, "/api/chat", chat("qwen3:32b", 10, true)), lines))
        .isNull();
    assertThat(lines).hasSize(11);
  }

  @Test
  void stallGoesSilentMidStreamForEveryRequest() throws Exception {
    SimNode node = start(INSTANT);
    node.injectFault(SimFault.stall(2));

    for (int i = 0; i < 2; i++) {
      HttpResponse<InputStream> response = SimHttp.postStreaming(node, "/api/chat", chat("qwen3:32b", 10, true));
      List<String> lines = SimHttp.newLines();
      CompletableFuture<Throwable> reading = CompletableFuture.supplyAsync(() -> SimHttp.readLines(response, lines));
      await().atMost(Duration.ofSeconds(5)).until(() -> lines.size() == 2);
      assertThat(reading).isNotDone();
      await().during(SILENCE).atMost(SILENCE.multipliedBy(3))
          .until(() -> lines.size() == 2 && !reading.isDone());
      response.body().close();
    }
  }

  @Test
  void slowDividesEngineSpeedByItsFactor() throws Exception {
    SimNode node = start(SimOptions.defaults().withTimeScale(10));
    long normal = evalDurationNanos(node, 20);

    node.injectFault(SimFault.parse("slow:factor=4"));
    long slow = evalDurationNanos(node, 20);

    assertThat(node.control().speedFactor()).isEqualTo(0.25);
    assertThat((double) slow / normal).isGreaterThan(2.5);
    node.clearFaults();
    assertThat(node.control().speedFactor()).isEqualTo(1.0);
  }

  @Test
  void thermalThrottleSlowsTheEngineTo55Percent() throws Exception {
    SimNode node = start(INSTANT);

    post(node, "/sim/faults", "{\"kind\":\"thermal-throttle\"}");

    assertThat(node.control().speedFactor()).isEqualTo(SimFault.THERMAL_THROTTLE_SPEED);
    assertThat(json(get(node, "/sim/faults")).path("faults").get(0).asText()).isEqualTo("thermal-throttle");
  }

  @Test
  void hotButHealthyKeepsFullSpeed() throws Exception {
    SimNode node = start(INSTANT);

    node.injectFault(SimFault.node(SimFault.Kind.HOT_BUT_HEALTHY));

    assertThat(node.control().speedFactor()).isEqualTo(1.0);
    assertThat(node.control().hung()).isFalse();
  }

  @Test
  void cpuOffloadReportsLessVramThanSizeAndRunsFiveTimesSlower() throws Exception {
    SimNode node = start(INSTANT);

    node.injectFault(SimFault.node(SimFault.Kind.CPU_OFFLOAD));

    JsonNode loaded = json(get(node, "/api/ps")).path("models").get(0);
    assertThat(loaded.path("size_vram").asLong()).isLessThan(loaded.path("size").asLong()).isPositive();
    assertThat(node.control().speedFactor()).isEqualTo(SimFault.CPU_OFFLOAD_SPEED);
    node.clearFaults();
    JsonNode healthy = json(get(node, "/api/ps")).path("models").get(0);
    assertThat(healthy.path("size_vram").asLong()).isEqualTo(healthy.path("size").asLong());
  }

  @Test
  void wrongModelListsAnotherModelAndAnswers404ForTheConfiguredOne() throws Exception {
    SimNode node = start(INSTANT);

    post(node, "/sim/faults", "{\"kind\":\"wrong-model\"}");

    assertThat(json(get(node, "/api/tags")).path("models").findValuesAsText("name")).containsExactly("llama3:8b");
    assertThat(json(get(node, "/v1/models")).path("data").findValuesAsText("id")).containsExactly("llama3:8b");
    HttpResponse<String> configured = post(node, "/api/chat", chat("qwen3:32b", 3, false));
    assertThat(configured.statusCode()).isEqualTo(404);
    assertThat(configured.body()).contains("qwen3:32b", "not found");
    assertThat(post(node, "/api/chat", chat("llama3:8b", 3, false)).statusCode()).isEqualTo(200);
    node.clearFault(SimFault.Kind.WRONG_MODEL);
    assertThat(json(get(node, "/api/tags")).path("models").findValuesAsText("name")).containsExactly("qwen3:32b");
  }

  @Test
  void perRequestFaultsStillApplyToTheNextRequestsOnly() throws Exception {
    SimNode node = start(INSTANT);
    post(node, "/sim/faults", "{\"kind\":\"status\",\"status\":503,\"count\":1}");

    assertThat(post(node, "/api/chat", chat("qwen3:32b", 3, false)).statusCode()).isEqualTo(503);
    assertThat(post(node, "/api/chat", chat("qwen3:32b", 3, false)).statusCode()).isEqualTo(200);
  }

  @Test
  void rejectsAnUnknownFaultKindOrParameterNamingTheChoices() throws Exception {
    SimNode node = start(INSTANT);

    HttpResponse<String> kind = post(node, "/sim/faults", "{\"kind\":\"melt\"}");
    HttpResponse<String> parameter = post(node, "/sim/faults", "{\"kind\":\"slow\",\"speed\":2}");

    assertThat(kind.statusCode()).isEqualTo(400);
    assertThat(kind.body()).contains("melt", "thermal-throttle", "wrong-model");
    assertThat(parameter.statusCode()).isEqualTo(400);
    assertThat(parameter.body()).contains("speed", "factor");
  }

  @Test
  void parsesTheCliFormOfEveryFaultAndDescribesItBack() {
    for (String spec : List.of("reset-before-first-byte:count=2", "hang-before-first-byte:count=1",
        "status:status=503,count=1", "reset-after-tokens:tokens=5,count=2", "stall-after-tokens:tokens=1,count=1",
        "refuse-connections", "black-hole", "hung-engine", "error-rate:percent=20,status=503",
        "die-after-chunks:chunks=4", "stall:chunks=2", "slow:factor=3", "thermal-throttle", "hot-but-healthy",
        "cpu-offload", "wrong-model:model=llama3:8b")) {
      assertThat(SimFault.parse(spec).describe()).isEqualTo(spec);
    }
    assertThatThrownBy(() -> SimFault.parse("error-rate:percent=20,status=404"))
        .hasMessageContaining("expected 500, 503 or 429");
  }

  private List<Integer> statuses(SimNode node, int requests) throws Exception {
    List<Integer> statuses = new ArrayList<>();
    for (int i = 0; i < requests; i++) {
      statuses.add(post(node, "/api/chat", chat("qwen3:32b", 1, false)).statusCode());
    }
    return statuses;
  }

  private static long evalDurationNanos(SimNode node, int tokens) throws Exception {
    HttpResponse<String> response = post(node, "/api/chat", chat("qwen3:32b", tokens, false));
    assertThat(response.statusCode()).isEqualTo(200);
    return json(response).path("eval_duration").asLong();
  }

}

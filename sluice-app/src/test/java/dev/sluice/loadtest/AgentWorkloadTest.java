package dev.sluice.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.loadtest.AgentWorkload.Kind;
import dev.sluice.loadtest.AgentWorkload.Request;
import dev.sluice.loadtest.AgentWorkload.Session;
import dev.sluice.loadtest.AgentWorkload.Settings;
import dev.sluice.loadtest.AgentWorkload.Step;
import dev.sluice.support.Json;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The agent workload's shape against design/AGENTS.md, and its determinism. */
class AgentWorkloadTest {
  static AgentStats stats(long seed, int sessions) {
    AgentWorkload w = new AgentWorkload(Settings.defaults(seed));
    AgentStats s = new AgentStats();
    for (int i = 0; i < sessions; i++) {
      Session session = w.session(i);
      for (Step st = session.next(); st != null; st = session.next()) s.add(st);
    }
    return s;
  }

  static byte[] allBodies(AgentWorkload w, long... sessions) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (long i : sessions) {
      Session session = w.session(i);
      for (Step st = session.next(); st != null; st = session.next()) {
        for (Request r : st.requests()) {
          out.writeBytes((r.sessionId() + " " + st.thinkMillis() + "\n").getBytes());
          out.writeBytes(r.body("m"));
        }
      }
    }
    return out.toByteArray();
  }

  @Test
  void prefixReuseBurstsPromptSizesAndThinkTimesMatchTheAgentTrace() {
    AgentStats s = stats(42, 200);
    System.out.print(s.table());

    assertThat(s.cachedEligibleShare()).as("turns reusing >= 90 %% of the previous input").isBetween(0.93, 0.99);
    assertThat(s.reusePercentile(50)).isGreaterThan(0.95);
    assertThat(s.resetShare()).isBetween(0.015, 0.045);
    assertThat(s.burstCount()).isGreaterThan(100);
    assertThat(s.burstSize(50)).isBetween(5.0, 10.0);
    assertThat(s.burstSize(90)).isBetween(35.0, 75.0);
    assertThat(s.subagentShare()).as("about half the requests come in bursts").isBetween(0.3, 0.65);
    assertThat(s.promptKb(50)).isBetween(20.0, 64.0);
    assertThat(s.promptTokens(90)).isBetween(8_000.0, 16_100.0);
    assertThat(s.thinkSeconds(50)).isBetween(1.0, 3.0);
    assertThat(s.thinkSeconds(99)).as("a long tail: a human thinking").isGreaterThan(120);
  }

  @Test
  void theSameSeedGivesTheSameRequestsByteForByteWhateverOrderSessionsAreDrawnIn() {
    byte[] a = allBodies(new AgentWorkload(Settings.defaults(9)), 0, 1, 2);
    byte[] b = allBodies(new AgentWorkload(Settings.defaults(9)), 0, 1, 2);
    byte[] reordered = allBodies(new AgentWorkload(Settings.defaults(9)), 2, 1, 0);
    byte[] other = allBodies(new AgentWorkload(Settings.defaults(10)), 0, 1, 2);

    assertThat(a).isEqualTo(b);
    assertThat(reordered).hasSameSizeAs(a).isNotEqualTo(a);
    assertThat(allBodies(new AgentWorkload(Settings.defaults(9)), 1))
        .isEqualTo(allBodies(new AgentWorkload(Settings.defaults(9)), 1));
    assertThat(other).isNotEqualTo(a);
  }

  @Test
  void aSessionGrowsItsContextWithToolCallsAndToolResultsUnderOneLargeSharedPrefix() throws Exception {
    Session session = new AgentWorkload(Settings.defaults(3)).session(0);
    List<Request> main = new ArrayList<>();
    for (Step st = session.next(); st != null; st = session.next()) {
      for (Request r : st.requests()) if (r.kind() == Kind.MAIN) main.add(r);
    }
    Request first = main.get(0);
    JsonNode body = Json.MAPPER.readTree(first.body("qwen3:32b"));
    assertThat(body.path("tools").size()).isBetween(10, 50);
    assertThat(body.path("tools").toString().length()).as("tens of KB of tools").isGreaterThan(5_000);
    assertThat(body.path("tools").path(0).path("function").path("parameters").path("type").asText())
        .isEqualTo("object");
    assertThat(body.path("messages").path(0).path("role").asText()).isEqualTo("system");
    assertThat(body.path("stream").asBoolean()).isTrue();
    assertThat(first.sessionId()).isEqualTo(session.id());

    Request second = main.get(1);
    JsonNode next = Json.MAPPER.readTree(second.body("qwen3:32b"));
    assertThat(next.path("messages").size()).isGreaterThan(body.path("messages").size());
    assertThat(second.reuse()).isGreaterThan(0.9);
    JsonNode roles = next.path("messages");
    boolean toolTurn = false;
    for (JsonNode m : roles) toolTurn |= m.path("role").asText().equals("tool") && m.has("tool_call_id");
    boolean userTurn = roles.get(roles.size() - 1).path("role").asText().equals("user");
    assertThat(toolTurn || userTurn).isTrue();
  }

  @Test
  void subAgentsOfABurstShareTheParentsPrefixAndCarryTheirOwnSessionIds() {
    AgentWorkload w = new AgentWorkload(Settings.defaults(42));
    for (int i = 0; ; i++) {
      Session session = w.session(i);
      for (Step st = session.next(); st != null; st = session.next()) {
        if (st.requests().get(0).kind() != Kind.SUBAGENT) continue;
        assertThat(st.requests()).hasSizeGreaterThanOrEqualTo(2)
            .allSatisfy(r -> assertThat(r.cachedEligible()).isTrue())
            .allSatisfy(r -> assertThat(r.sessionId()).startsWith(session.id() + "/sub-"));
        assertThat(st.requests().stream().map(Request::sessionId).distinct().count())
            .isEqualTo(st.requests().size());
        return;
      }
    }
  }
}

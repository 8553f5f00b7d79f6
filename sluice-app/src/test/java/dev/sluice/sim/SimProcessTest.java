package dev.sluice.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.testkit.SimProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A simulated node in its own JVM: what a frozen machine looks like from the network, and a clean end. */
class SimProcessTest {
  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @Test
  void aPausedNodeAcceptsButAnswersNothingUntilResumedAndCloseEndsItEvenWhilePaused() throws Exception {
    SimProcess sim = SimProcess.start(SimOptions.defaults().withId("frozen").withGpu(GpuProfile.H100).withTimeScale(0));
    ProcessHandle handle = ProcessHandle.of(sim.pid()).orElseThrow();
    try {
      assertThat(version(sim, Duration.ofSeconds(5)).statusCode()).isEqualTo(200);
      sim.pause();
      assertThatThrownBy(() -> version(sim, Duration.ofMillis(500))).isInstanceOf(HttpTimeoutException.class);
      sim.resume();
      assertThat(version(sim, Duration.ofSeconds(5)).statusCode()).isEqualTo(200);
      sim.pause();
    } finally {
      sim.close();
    }
    assertThat(handle.isAlive()).as("the paused process ended by close()").isFalse();
  }

  private static HttpResponse<String> version(SimProcess sim, Duration timeout) throws Exception {
    return CLIENT.send(HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/api/version")).timeout(timeout).GET()
        .build(), HttpResponse.BodyHandlers.ofString());
  }
}

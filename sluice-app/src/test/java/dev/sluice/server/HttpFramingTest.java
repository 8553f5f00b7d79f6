package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.sim.GpuProfile;
import dev.sluice.testkit.TestCluster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Request smuggling vectors (RELIABILITY.md, http rows): a request whose length is ambiguous is refused with 400 and
 * the connection closed, and nothing of it, nor what is smuggled behind it, reaches a node.
 */
class HttpFramingTest {
  static TestCluster cluster;

  @BeforeAll
  static void start() {
    cluster = new TestCluster().node("a", GpuProfile.A10, "qwen3:32b", 0).start();
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static final String BODY = "{\"model\":\"qwen3:32b\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
  private static final String SMUGGLED = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      + "Content-Length: " + BODY.length() + "\r\n\r\n" + BODY;

  /** Sends raw bytes and reads until the server closes the connection (or 3 s pass). */
  private static String exchange(String raw) throws IOException {
    try (Socket s = new Socket("127.0.0.1", cluster.port())) {
      s.setSoTimeout(3_000);
      s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream seen = new ByteArrayOutputStream();
      byte[] buf = new byte[4096];
      try {
        for (int n; (n = in.read(buf)) >= 0; ) seen.write(buf, 0, n);
      } catch (SocketTimeoutException e) {
        seen.write("<still open>".getBytes(StandardCharsets.US_ASCII));
      }
      return seen.toString(StandardCharsets.ISO_8859_1);
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"CL.TE", "TE.CL", "duplicate Content-Length", "duplicate equal Content-Length",
      "obfuscated Transfer-Encoding", "Transfer-Encoding not chunked"})
  void anAmbiguousRequestLengthIs400AndClosedAndNothingReachesANode(String vector) throws Exception {
    long before = cluster.sim("a").stats().count("/v1/chat/completions");
    String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
    String chunked = Integer.toHexString(BODY.length()) + "\r\n" + BODY + "\r\n0\r\n\r\n";
    String raw = switch (vector) {
      case "CL.TE" -> head + "Content-Length: " + (chunked.length() + SMUGGLED.length())
          + "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + SMUGGLED;
      case "TE.CL" -> head + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" + chunked + SMUGGLED;
      case "duplicate Content-Length" -> head + "Content-Length: " + BODY.length() + "\r\nContent-Length: 4\r\n\r\n"
          + BODY + SMUGGLED;
      case "duplicate equal Content-Length" -> head + "Content-Length: " + BODY.length() + "\r\nContent-Length: "
          + BODY.length() + "\r\n\r\n" + BODY + SMUGGLED;
      case "obfuscated Transfer-Encoding" -> head + "Content-Length: " + BODY.length()
          + "\r\nTransfer-Encoding: xchunked\r\n\r\n" + BODY + SMUGGLED;
      default -> head + "Transfer-Encoding: gzip\r\n\r\n" + BODY + SMUGGLED;
    };
    String response = exchange(raw);
    assertThat(response).as(vector).startsWith("HTTP/1.1 400").doesNotContain("<still open>");
    assertThat(response.split("HTTP/1.1 ", -1)).as("one response only: nothing smuggled was served").hasSize(2);
    assertThat(cluster.sim("a").stats().count("/v1/chat/completions")).isEqualTo(before);
  }
}

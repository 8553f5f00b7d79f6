package dev.sluice.bench;

import dev.sluice.auth.ApiKey;
import dev.sluice.auth.ApiKeys;
import dev.sluice.auth.AuthMode;
import dev.sluice.auth.Authenticator;
import dev.sluice.auth.JwtKeySpec;
import dev.sluice.auth.JwtSettings;
import dev.sluice.auth.JwtVerifier;
import dev.sluice.auth.KeyGenerator;
import dev.sluice.auth.Principal;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What authentication costs per request: a gateway token (SHA-256 + constant-time compare among 1,000 keys), a JWT
 * seen before (the verified-token cache), and an RS256 JWT's first verification (header checks + RSA-2048 signature).
 *
 * <p>Run: {@code java -jar sluice-bench/target/benchmarks.jar AuthBench -f 1 -wi 3 -i 5}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class AuthBench {
  private Vertx vertx;
  private Authenticator keys;
  private String keyHeader;
  private JwtSettings jwtSettings;
  private JwtVerifier cached;
  private String jwt;
  private String[] fresh;
  private int next;

  @Setup
  public void setUp() throws Exception {
    vertx = Vertx.vertx();
    List<ApiKey> all = new ArrayList<>();
    String secret = null;
    for (int i = 0; i < 1_000; i++) {
      KeyGenerator.Created c = KeyGenerator.create("tenant-" + i, Set.of(), null, null, null, Instant.now());
      all.add(c.key());
      if (i == 500) secret = c.secret();
    }
    ApiKeys snapshot = ApiKeys.of(all);
    keys = new Authenticator(AuthMode.TOKENS, () -> snapshot, null, System::currentTimeMillis);
    keyHeader = "Bearer " + secret;

    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    KeyPair rsa = g.generateKeyPair();
    String pem = "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder().encodeToString(rsa.getPublic().getEncoded())
        + "\n-----END PUBLIC KEY-----\n";
    jwtSettings = JwtSettings.ofKeys(List.of(new JwtKeySpec("RS256", "k1", pem, null)));
    cached = new JwtVerifier(vertx, jwtSettings, System::currentTimeMillis);
    jwt = sign(rsa, "acme");
    fresh = new String[20_000];
    for (int i = 0; i < fresh.length; i++) fresh[i] = sign(rsa, "t" + i);
    cached.verify(jwt);
  }

  private static String sign(KeyPair kp, String sub) throws Exception {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String input = b64.encodeToString("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}".getBytes(StandardCharsets.UTF_8))
        + "." + b64.encodeToString(("{\"sub\":\"" + sub + "\",\"exp\":" + (System.currentTimeMillis() / 1000 + 86_400)
            + "}").getBytes(StandardCharsets.UTF_8));
    Signature s = Signature.getInstance("SHA256withRSA");
    s.initSign(kp.getPrivate());
    s.update(input.getBytes(StandardCharsets.US_ASCII));
    return input + "." + b64.encodeToString(s.sign());
  }

  /** A fresh verifier (empty cache) for each measured first verification. */
  @State(Scope.Thread)
  public static class Fresh {
    JwtVerifier verifier;

    @Setup(Level.Iteration)
    public void create(AuthBench b) {
      verifier = new JwtVerifier(b.vertx, b.jwtSettings, System::currentTimeMillis);
    }
  }

  @TearDown
  public void tearDown() {
    vertx.close();
  }

  @Benchmark
  public Principal gatewayToken() {
    return keys.authenticate(keyHeader, null).result();
  }

  @Benchmark
  public Principal jwtSeenBefore() {
    return cached.verify(jwt).result();
  }

  /** 20,000 distinct tokens, each verified once per iteration (more than an iteration gets through): all misses. */
  @Benchmark
  public Principal jwtFirstVerification(Fresh f) {
    String t = fresh[next++ % fresh.length];
    return f.verifier.verify(t).result();
  }
}

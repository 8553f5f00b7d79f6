package dev.sluice.bench;

import dev.sluice.api.PathNormalizer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@link PathNormalizer#normalise} on the paths the gateway sees per request: the common clean path, a path with
 * percent-encoded unreserved characters, one with dot segments and repeated slashes, and one that is refused.
 *
 * <p>Run: {@code java -jar sluice-bench/target/benchmarks.jar PathNormalizerBench -f 1 -wi 3 -i 5}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PathNormalizerBench {
  @Param({"/v1/chat/completions", "/v1/chat/%63ompletions", "//v1/./models/../chat//completions/", "/v1/chat%2Fcompletions"})
  public String path;

  @Benchmark
  public String normalise() {
    return PathNormalizer.normalise(path);
  }
}

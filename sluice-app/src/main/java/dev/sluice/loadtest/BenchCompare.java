package dev.sluice.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

/** {@code sluice bench --compare a.json b.json}: each summary metric of two runs' {@code --json}, and the change. */
public final class BenchCompare {
  private BenchCompare() {}

  public static String table(Path a, Path b) throws IOException {
    JsonNode sa = summary(a);
    JsonNode sb = summary(b);
    StringBuilder out = new StringBuilder();
    out.append(String.format("%-28s %14s %14s %10s%n", "metric", "a", "b", "delta"));
    for (Iterator<Map.Entry<String, JsonNode>> it = sa.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!sb.has(e.getKey())) continue;
      double va = e.getValue().asDouble();
      double vb = sb.get(e.getKey()).asDouble();
      String delta = va == 0 ? (vb == 0 ? "0.0 %" : "new") : String.format("%+.1f %%", 100 * (vb - va) / va);
      out.append(String.format("%-28s %14s %14s %10s%n", e.getKey(), BenchResult.format(e.getKey(), va),
          BenchResult.format(e.getKey(), vb),
          delta));
    }
    return out.toString();
  }

  private static JsonNode summary(Path p) throws IOException {
    JsonNode s = Json.MAPPER.readTree(p.toFile()).path("summary");
    if (!s.isObject()) throw new IllegalArgumentException(p + ": no \"summary\" object (write one with --json FILE)");
    return s;
  }
}

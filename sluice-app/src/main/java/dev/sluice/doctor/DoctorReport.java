package dev.sluice.doctor;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.util.List;

/**
 * The checklist's results: an aligned table, JSON, and whether production mode may start.
 *
 * @param gateway which gateway was measured and what it said of itself, one line ("the gateway at
 *     http://127.0.0.1:8080 (admin on the same port), serving the config's 4 nodes")
 * @param refusal why no check ran (the gateway answering is not the one the config describes); null when they ran
 */
public record DoctorReport(List<CheckResult> results, String gateway, String refusal) {
  public DoctorReport {
    results = List.copyOf(results);
    gateway = gateway == null ? "" : gateway;
  }

  public DoctorReport(List<CheckResult> results) {
    this(results, "", null);
  }

  /** No check ran: {@code refusal} says why and what to do. */
  static DoctorReport refused(String gateway, String refusal) {
    return new DoctorReport(List.of(), gateway, refusal);
  }

  /** True when no check FAILed (SKIP and WARN count as passed) and the checks ran. */
  public boolean passed() {
    return refusal == null && results.stream().noneMatch(r -> r.status() == Status.FAIL);
  }

  public long count(Status s) {
    return results.stream().filter(r -> r.status() == s).count();
  }

  /** "12 checks: 9 PASS, 1 WARN, 2 SKIP, 0 FAIL — ready (WARN and SKIP count as passed)". */
  public String summary() {
    return results.size() + " checks: " + count(Status.PASS) + " PASS, " + count(Status.WARN) + " WARN, "
        + count(Status.SKIP) + " SKIP, " + count(Status.FAIL) + " FAIL — "
        + (passed() ? "ready for production (WARN and SKIP count as passed)" : "NOT ready for production");
  }

  /** ID, CHECK, STATUS, MEASURED, FIX columns, aligned, then the summary and the gateway measured. */
  public String table() {
    if (refusal != null) return "no check ran: " + refusal + System.lineSeparator();
    int name = "CHECK".length();
    int measured = "MEASURED".length();
    for (CheckResult r : results) {
      name = Math.max(name, r.name().length());
      measured = Math.max(measured, r.measured().length());
    }
    String row = "%-3s %-" + name + "s %-6s %-" + measured + "s %s%n";
    StringBuilder out = new StringBuilder(String.format(row, "ID", "CHECK", "STATUS", "MEASURED", "FIX"));
    for (CheckResult r : results) {
      out.append(String.format(row, r.id(), r.name(), r.status(), r.measured(), r.fix()));
    }
    out.append(summary()).append(System.lineSeparator());
    if (!gateway.isEmpty()) out.append("measured: ").append(gateway).append(System.lineSeparator());
    return out.toString();
  }

  public String json() {
    ObjectNode root = Json.MAPPER.createObjectNode().put("passed", passed()).put("summary", summary())
        .put("gateway", gateway);
    if (refusal != null) root.put("refusal", refusal);
    ArrayNode checks = root.putArray("checks");
    for (CheckResult r : results) {
      checks.addObject().put("id", r.id()).put("name", r.name()).put("status", r.status().name())
          .put("measured", r.measured()).put("fix", r.fix());
    }
    try {
      return Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}

package dev.sluice.doctor;

import java.util.Objects;

/**
 * One check's outcome.
 *
 * @param id 1..12, the brief's §5 numbering
 * @param name short name, e.g. "GPU memory"
 * @param status PASS, WARN, SKIP or FAIL
 * @param measured what was measured, one line
 * @param fix what to do about a FAIL or WARN, one line; empty otherwise
 */
public record CheckResult(int id, String name, Status status, String measured, String fix) {
  public CheckResult {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(status, "status");
    measured = measured == null ? "" : measured;
    fix = fix == null ? "" : fix;
  }

  static CheckResult pass(Check c, String measured) {
    return new CheckResult(c.id(), c.title(), Status.PASS, measured, "");
  }

  static CheckResult fail(Check c, String measured, String fix) {
    return new CheckResult(c.id(), c.title(), Status.FAIL, measured, fix);
  }

  static CheckResult warn(Check c, String measured, String fix) {
    return new CheckResult(c.id(), c.title(), Status.WARN, measured, fix);
  }

  static CheckResult skip(Check c, String measured) {
    return new CheckResult(c.id(), c.title(), Status.SKIP, measured, "");
  }
}

package dev.sluice.health;

import java.util.Objects;

/**
 * Whether a due ejection may take effect.
 *
 * @param eject true when the node may be ejected
 * @param reason why not, when {@code eject} is false (empty otherwise)
 */
public record EjectionDecision(boolean eject, String reason) {
  private static final EjectionDecision ALLOW = new EjectionDecision(true, "");

  public EjectionDecision {
    Objects.requireNonNull(reason, "reason");
  }

  public static EjectionDecision allow() {
    return ALLOW;
  }

  public static EjectionDecision withhold(String reason) {
    return new EjectionDecision(false, Objects.requireNonNull(reason, "reason"));
  }
}

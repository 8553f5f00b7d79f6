package dev.sluice.api;

/** A request Sluice refuses, with the kind (status, codes), a message that names the fix, and the offending field. */
public final class ApiException extends Exception {
  private final ErrorKind kind;
  private final String param;

  public ApiException(ErrorKind kind, String message, String param) {
    super(message, null, false, false);
    this.kind = kind;
    this.param = param;
  }

  public ApiException(ErrorKind kind, String message) {
    this(kind, message, null);
  }

  public ErrorKind kind() { return kind; }

  /** The request field at fault, or null. */
  public String param() { return param; }
}

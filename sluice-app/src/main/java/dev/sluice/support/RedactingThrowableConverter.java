package dev.sluice.support;

import ch.qos.logback.classic.pattern.ThrowableProxyConverter;
import ch.qos.logback.classic.spi.IThrowableProxy;

/**
 * Logback's {@code %ex} with {@link Secrets#redact} applied to the whole rendered stack trace, exception messages and
 * causes included: wired in logback.xml as the {@code ex} word.
 */
public final class RedactingThrowableConverter extends ThrowableProxyConverter {
  @Override
  protected String throwableProxyToString(IThrowableProxy tp) {
    return Secrets.redact(super.throwableProxyToString(tp));
  }
}

package dev.sluice.server;

import dev.sluice.metrics.SluiceMetrics;
import dev.sluice.observe.RequestObserver;
import dev.sluice.observe.RequestRecord;
import dev.sluice.support.LogThrottle;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Where every finished request's record goes: the metrics first, then each registered observer in order. */
final class Observers {
  private static final Logger log = LoggerFactory.getLogger(Observers.class);
  private static final LogThrottle FAILURE_LOG = LogThrottle.perSecond();

  private final SluiceMetrics metrics;
  private final List<RequestObserver> observers = new CopyOnWriteArrayList<>();

  Observers(SluiceMetrics metrics) {
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  void add(RequestObserver observer) {
    observers.add(Objects.requireNonNull(observer, "observer"));
  }

  /** Once per request, on its event loop. An observer that throws is logged and skipped, never the request's fault. */
  void publish(RequestRecord record) {
    metrics.request(record);
    for (RequestObserver o : observers) {
      try {
        o.onRequest(record);
      } catch (RuntimeException e) {
        long quiet = FAILURE_LOG.tryLog();
        if (quiet >= 0) log.error("request observer {} failed{}", o.getClass().getName(), LogThrottle.leftOut(quiet), e);
      }
    }
  }
}

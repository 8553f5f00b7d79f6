package dev.sluice.flow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.testkit.FakeClock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FlowQueueTest {
  private final FakeClock clock = new FakeClock();
  private final Map<String, Integer> weights = new HashMap<>();
  private final FlowQueue<String> queue = new FlowQueue<>(new FlowQueue.Settings(100, 1_000), clock,
      t -> weights.getOrDefault(t, 1));

  private FlowQueue.Ticket<String> offer(String id, String tenant, Band band, double cost) {
    FlowQueue.Offer<String> o = queue.offer(id, tenant, band, cost, clock.millis() + 60_000);
    assertThat(o).isInstanceOf(FlowQueue.Queued.class);
    return ((FlowQueue.Queued<String>) o).ticket();
  }

  private List<String> drain(Band lowest) {
    List<String> out = new ArrayList<>();
    for (FlowQueue.Ticket<String> t; (t = queue.poll(lowest)) != null; ) out.add(t.payload());
    return out;
  }

  @Test
  void aTenantsSingleRequestLeavesAfterAtMostOneTurnOfAnotherTenantsBurst() {
    for (int i = 0; i < 50; i++) offer("a" + i, "A", Band.INTERACTIVE, 500);
    offer("b0", "B", Band.INTERACTIVE, 500);

    List<String> order = drain(Band.INTERACTIVE);

    assertThat(order.indexOf("b0")).isEqualTo(2); // A's first turn is a 1 s quantum: two 500 ms requests
    assertThat(order).hasSize(51);
  }

  @Test
  void tenantsShareDispatchesByGpuTimeNotByRequestCount() {
    for (int i = 0; i < 40; i++) offer("big" + i, "A", Band.INTERACTIVE, 1_000);
    for (int i = 0; i < 40; i++) offer("small" + i, "B", Band.INTERACTIVE, 250);

    List<String> first = drain(Band.INTERACTIVE).subList(0, 25);

    long big = first.stream().filter(s -> s.startsWith("big")).count();
    long small = first.size() - big;
    assertThat(small).isEqualTo(4 * big); // equal GPU time: four 250 ms requests per 1 s one
  }

  @Test
  void aTenantOfWeightTwoGetsTwiceTheGpuTime() {
    weights.put("gold", 2);
    for (int i = 0; i < 30; i++) offer("g" + i, "gold", Band.INTERACTIVE, 500);
    for (int i = 0; i < 30; i++) offer("s" + i, "silver", Band.INTERACTIVE, 500);

    List<String> first = drain(Band.INTERACTIVE).subList(0, 30);

    assertThat(first.stream().filter(s -> s.startsWith("g")).count()).isEqualTo(20);
  }

  @Test
  void interactiveRequestsLeaveBeforeBatchOnesWhateverTheirArrivalOrder() {
    offer("batch1", "A", Band.BATCH, 10);
    offer("batch2", "B", Band.BATCH, 10);
    offer("chat1", "C", Band.INTERACTIVE, 10);

    assertThat(drain(Band.BATCH)).containsExactly("chat1", "batch1", "batch2");
  }

  @Test
  void aPollLimitedToInteractiveLeavesBatchWaiting() {
    offer("batch1", "A", Band.BATCH, 10);

    assertThat(queue.poll(Band.INTERACTIVE)).isNull();
    assertThat(queue.size(Band.BATCH)).isEqualTo(1);
  }

  @Test
  void aCancelledRequestNeverLeavesAndFreesItsPlace() {
    FlowQueue.Ticket<String> gone = offer("gone", "A", Band.INTERACTIVE, 10);
    offer("stays", "A", Band.INTERACTIVE, 10);

    assertThat(queue.cancel(gone)).isTrue();
    assertThat(queue.cancel(gone)).isFalse();
    assertThat(queue.size()).isEqualTo(1);
    assertThat(drain(Band.BATCH)).containsExactly("stays");
  }

  @Test
  void aDispatchedRequestCannotBeCancelled() {
    FlowQueue.Ticket<String> t = offer("x", "A", Band.INTERACTIVE, 10);

    assertThat(queue.poll(Band.INTERACTIVE)).isSameAs(t);
    assertThat(queue.cancel(t)).isFalse();
  }

  @Test
  void requestsPastTheirDeadlineExpireAndOthersStay() {
    queue.offer("soon", "A", Band.INTERACTIVE, 10, clock.millis() + 1_000);
    queue.offer("later", "A", Band.INTERACTIVE, 10, clock.millis() + 5_000);
    queue.offer("other", "B", Band.BATCH, 10, clock.millis() + 1_000);

    clock.advanceMillis(1_000);
    List<FlowQueue.Ticket<String>> expired = queue.expire();

    assertThat(expired).extracting(FlowQueue.Ticket::payload).containsExactlyInAnyOrder("soon", "other");
    assertThat(queue.size()).isEqualTo(1);
    assertThat(queue.size(Band.BATCH)).isZero();
    assertThat(drain(Band.BATCH)).containsExactly("later");
  }

  @Test
  void aFullQueueRefusesWithARetryAfterFromTheDrainRate() {
    FlowQueue<String> small = new FlowQueue<>(new FlowQueue.Settings(2, 1_000), clock, t -> 1);
    small.offer("1", "A", Band.INTERACTIVE, 10, clock.millis() + 60_000);
    small.offer("2", "A", Band.INTERACTIVE, 10, clock.millis() + 60_000);
    small.poll(Band.INTERACTIVE);
    clock.advanceMillis(200);
    small.poll(Band.INTERACTIVE); // one dispatch every 200 ms
    small.offer("3", "A", Band.INTERACTIVE, 10, clock.millis() + 60_000);
    small.offer("4", "A", Band.INTERACTIVE, 10, clock.millis() + 60_000);

    FlowQueue.Offer<String> refused = small.offer("5", "A", Band.INTERACTIVE, 10, clock.millis() + 60_000);

    assertThat(refused).isInstanceOfSatisfying(FlowQueue.Refused.class, r -> {
      assertThat(r.retryAfterMillis()).isEqualTo(400);
      assertThat(r.reason()).contains("queue is full").contains("routing.flow.queueLength 2");
    });
  }

  @Test
  void aRequestWhoseWaitWouldOutlastItsDeadlineIsRefusedAtOnce() {
    offer("1", "A", Band.INTERACTIVE, 10);
    offer("2", "A", Band.INTERACTIVE, 10);
    queue.poll(Band.INTERACTIVE);
    clock.advanceMillis(1_000);
    queue.poll(Band.INTERACTIVE); // one dispatch a second while requests wait
    for (int i = 0; i < 5; i++) offer("w" + i, "A", Band.INTERACTIVE, 10);

    FlowQueue.Offer<String> o = queue.offer("late", "A", Band.INTERACTIVE, 10, clock.millis() + 2_000);

    assertThat(o).isInstanceOfSatisfying(FlowQueue.Refused.class,
        r -> assertThat(r.reason()).contains("longer than it may wait"));
  }

  @Test
  void anotherTenantsFirstRequestIsNotCountedBehindTheWholeBurst() {
    offer("1", "A", Band.INTERACTIVE, 10);
    queue.poll(Band.INTERACTIVE);
    clock.advanceMillis(1_000);
    offer("2", "A", Band.INTERACTIVE, 10);
    queue.poll(Band.INTERACTIVE); // one dispatch a second
    for (int i = 0; i < 50; i++) offer("a" + i, "A", Band.INTERACTIVE, 10);

    assertThat(queue.offer("b", "B", Band.INTERACTIVE, 10, clock.millis() + 3_000))
        .isInstanceOf(FlowQueue.Queued.class);
  }

  @Test
  void gpuTimeCountsPrefillAtThePrefillRateAndOutputAtTheDecodeRate() {
    assertThat(FlowQueue.gpuMillis(10_000, 100, 5_000, 20)).isEqualTo(2_000 + 2_000);
  }

  @Test
  void aRequestPutBackAfterAPollKeepsItsTurnAndIsNotCountedAsDispatched() {
    for (int i = 0; i < 5; i++) offer("a" + i, "A", Band.INTERACTIVE, 500);
    offer("b0", "B", Band.INTERACTIVE, 500);
    FlowQueue.Ticket<String> first = queue.poll(Band.INTERACTIVE);

    queue.unpoll(first);

    assertThat(queue.size()).isEqualTo(6);
    assertThat(queue.dispatched()).isZero();
    assertThat(drain(Band.INTERACTIVE)).containsExactly("a0", "a1", "b0", "a2", "a3", "a4");
  }

  @Test
  void aRequestWhoseTenantQueueEmptiedCanBePutBackAndLeavesFirst() {
    offer("b0", "B", Band.INTERACTIVE, 500);
    offer("a0", "A", Band.INTERACTIVE, 500);
    FlowQueue.Ticket<String> b0 = queue.poll(Band.INTERACTIVE);

    queue.unpoll(b0);

    assertThat(queue.waitingByTenant(Band.INTERACTIVE)).containsEntry("B", 1);
    assertThat(drain(Band.INTERACTIVE)).containsExactly("b0", "a0");
  }

  @Test
  void onlyTheTicketOfTheLastPollCanBePutBack() {
    offer("a0", "A", Band.INTERACTIVE, 500);
    offer("a1", "A", Band.INTERACTIVE, 500);
    FlowQueue.Ticket<String> a0 = queue.poll(Band.INTERACTIVE);
    queue.poll(Band.INTERACTIVE);

    assertThatThrownBy(() -> queue.unpoll(a0))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void idleTimeBeforeABurstDoesNotCountAsASlowDrain() {
    offer("1", "A", Band.INTERACTIVE, 10);
    queue.poll(Band.INTERACTIVE);
    clock.advanceMillis(60_000); // an idle minute
    offer("2", "A", Band.INTERACTIVE, 10);
    clock.advanceMillis(100);
    queue.poll(Band.INTERACTIVE); // drained 100 ms after it arrived
    offer("3", "A", Band.INTERACTIVE, 10);
    offer("4", "A", Band.INTERACTIVE, 10);

    assertThat(queue.offer("5", "A", Band.INTERACTIVE, 10, clock.millis() + 1_000))
        .isInstanceOf(FlowQueue.Queued.class);
    assertThat(queue.retryAfterMillis(1)).isEqualTo(100);
  }

  @Test
  void aRequestWithNothingAheadIsNeverRefusedByTheDrainEstimate() {
    offer("1", "A", Band.INTERACTIVE, 10);
    queue.poll(Band.INTERACTIVE);
    clock.advanceMillis(10_000);
    offer("2", "A", Band.INTERACTIVE, 10);
    clock.advanceMillis(10_000);
    queue.poll(Band.INTERACTIVE); // one dispatch every 10 s while busy

    assertThat(queue.offer("3", "A", Band.INTERACTIVE, 10, clock.millis() + 1_000))
        .isInstanceOf(FlowQueue.Queued.class);
  }
}

package dev.sluice.lab;

import dev.sluice.flow.Band;
import dev.sluice.flow.FlowQueue;
import dev.sluice.lab.RunResult.Outcome;
import dev.sluice.routing.PrefixChain;
import dev.sluice.routing.RouteRequest;
import dev.sluice.routing.Warmth;
import java.util.List;

/** One request of a lab run as it goes: its plan, attempts and, once ended, its outcome. Mutated by the run only. */
final class LabRequest {
  /** The tenant of requests without one (every workload but the lab's tenant streams). */
  static final String DEFAULT_TENANT = "default";

  final long arrival;
  /** Whose request it is (fair share between tenants). */
  String tenant = DEFAULT_TENANT;
  /** Its priority band. */
  Band band = Band.INTERACTIVE;
  /** Flow control: its place in the model's queue while it waits, else null. */
  FlowQueue.Ticket<LabRequest> ticket;
  /** Flow control: the latest time it may leave the queue. */
  long deadline;
  final int prompt;
  final int output;
  /** Agent turns: the prompt's token ids (for the engines' prefix caches) until it ends, else null. */
  int[] promptIds;
  /** Agent turns: at least 90 % of the input is a verbatim prefix of the session's previous input. */
  final boolean cachedEligible;
  /** Agent turns: the session step it belongs to (its next step waits for every request of this one), else null. */
  LabSimulation.SessionStep step;
  /** Agent turns: the prompt's prefix chain until it ends, else null (chat: no text, no affinity). */
  PrefixChain chain;
  /** Agent turns: the workload's session id (a sub-agent's own), else null. */
  String session;
  /** Agent turns: the session key of {@link #session} (0 without one). */
  long sessionKey;
  /** Agent turns: the router's affinity estimate before routing (the oracle routes by the engines' instead). */
  Warmth warmth;
  /** What the policy was asked, until the request ends. */
  RouteRequest route;
  /** The output the router is told to expect (the workload's typical output; a batch job's max_tokens); -1: unset. */
  int expectedOutput = -1;
  List<String> plan = List.of();
  int nextIndex;
  int attempts;
  /** When its last attempt was sent to a node, or -1: never (the wait in the gateway's queue ends there). */
  long sentAt = -1;
  /** Least-delay's expected TTFT of its last attempt at send, milliseconds (NaN: none). */
  double expectedTtftMillis = Double.NaN;
  long firstTokenAt = -1;
  long finishedAt = -1;
  int generated;
  String servedBy;
  Outcome outcome;

  LabRequest(long arrival, int prompt, int output) {
    this(arrival, prompt, output, null, false);
  }

  LabRequest(long arrival, int prompt, int output, int[] promptIds, boolean cachedEligible) {
    this.arrival = arrival;
    this.prompt = prompt;
    this.output = output;
    this.promptIds = promptIds;
    this.cachedEligible = cachedEligible;
  }
}

package dev.sluice.lab;

import dev.sluice.lab.RunResult.Outcome;
import java.util.List;

/** One request of a lab run as it goes: its plan, attempts and, once ended, its outcome. Mutated by the run only. */
final class LabRequest {
  final long arrival;
  final int prompt;
  final int output;
  List<String> plan = List.of();
  int nextIndex;
  int attempts;
  long firstTokenAt = -1;
  long finishedAt = -1;
  int generated;
  String servedBy;
  Outcome outcome;

  LabRequest(long arrival, int prompt, int output) {
    this.arrival = arrival;
    this.prompt = prompt;
    this.output = output;
  }
}

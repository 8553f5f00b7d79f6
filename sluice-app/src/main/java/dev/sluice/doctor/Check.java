package dev.sluice.doctor;

/** The brief's §5 checklist, in its order. */
public enum Check {
  NODES_REACHABLE(1, "nodes reachable"),
  MODELS_LISTED(2, "models listed"),
  GPU_MEMORY(3, "GPU memory"),
  NODES_READY(4, "nodes READY"),
  ERROR_RATE(5, "error rate under load"),
  P95_LATENCY(6, "P95 latency"),
  CONTEXT_WINDOW(7, "contextWindow"),
  AUTH(8, "auth enabled"),
  ETCD(9, "etcd healthy"),
  MODEL_STORE(10, "model store"),
  REPAIR_SCRIPT(11, "repair script"),
  ROUTER_UP(12, "sluice_router_up");

  private final int id;
  private final String title;

  Check(int id, String title) {
    this.id = id;
    this.title = title;
  }

  public int id() {
    return id;
  }

  public String title() {
    return title;
  }
}

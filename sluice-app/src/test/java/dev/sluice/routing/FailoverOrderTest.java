package dev.sluice.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FailoverOrderTest {
  private static final Map<String, String> GPU = Map.of("a100-1", "A100", "a100-2", "a100", "a100-3", "A100",
      "h100-1", "H100", "a10-1", "A10");
  private static final List<String> PLAN = List.of("a100-1", "h100-1", "a100-2", "a10-1", "a100-3");

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      SAME_GPU_CLASS       | a100-1 a100-2 a100-3
      SAME_GPU_CLASS_FIRST | a100-1 a100-2 a100-3 h100-1 a10-1
      ANY                  | a100-1 h100-1 a100-2 a10-1 a100-3
      """)
  void ordersTheFailoverCandidates(FailoverOrder order, String expected) {
    assertThat(order.apply(PLAN, GPU)).containsExactly(expected.split(" "));
  }

  @Test
  void sameGpuClassNeverCrossesClasses() {
    Map<String, String> gpu = new HashMap<>();
    List<String> ids = new ArrayList<>();
    String[] classes = {"A10", "A100", "H100", null};
    for (int i = 0; i < 12; i++) {
      ids.add("n" + i);
      gpu.put("n" + i, classes[i % classes.length]);
    }
    Random random = new Random(17);
    for (int i = 0; i < 1_000; i++) {
      Collections.shuffle(ids, random);
      List<String> order = FailoverOrder.SAME_GPU_CLASS.apply(ids, gpu);
      assertThat(order.get(0)).isEqualTo(ids.get(0));
      assertThat(order).allSatisfy(id -> assertThat(gpu.get(id)).isEqualTo(gpu.get(ids.get(0))));
      assertThat(order).hasSize(3);
    }
  }

  @Test
  void aNodeWithoutAClassOnlyMatchesOtherNodesWithoutOne() {
    Map<String, String> gpu = Map.of("a10-1", "A10");

    assertThat(FailoverOrder.SAME_GPU_CLASS.apply(List.of("x", "a10-1", "y"), gpu)).containsExactly("x", "y");
    assertThat(FailoverOrder.SAME_GPU_CLASS.apply(List.of(), gpu)).isEmpty();
  }

  @Test
  void readsItsConfigNameAndExplainsAnUnknownOne() {
    assertThat(FailoverOrder.fromConfig("same-gpu-class")).isEqualTo(FailoverOrder.SAME_GPU_CLASS);
    assertThat(FailoverOrder.fromConfig("Same-GPU-Class-First")).isEqualTo(FailoverOrder.SAME_GPU_CLASS_FIRST);
    assertThat(FailoverOrder.DEFAULT).isEqualTo(FailoverOrder.SAME_GPU_CLASS_FIRST);
    assertThatThrownBy(() -> FailoverOrder.fromConfig("nearest"))
        .hasMessage("routing.failover: \"nearest\" is not a failover order (expected one of same-gpu-class, "
            + "same-gpu-class-first, any)");
  }
}

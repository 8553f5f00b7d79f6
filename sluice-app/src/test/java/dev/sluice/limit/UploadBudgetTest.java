package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.limit.UploadBudget.Limits;
import dev.sluice.limit.UploadBudget.Upload;
import dev.sluice.limit.UploadBudget.Verdict;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class UploadBudgetTest {
  private static final long MIB = 1024 * 1024;
  private static final Limits SMALL = new Limits(100, 40);

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      nothing configured, 1 GiB heap      | 0   | 0   | 10 | 1024 | 128 | 32
      nothing configured, 64 MiB heap     | 0   | 0   | 10 | 64   | 10  | 10
      total configured                    | 100 | 0   | 10 | 1024 | 100 | 25
      total configured, small             | 20  | 0   | 10 | 1024 | 20  | 10
      per tenant configured               | 0   | 50  | 10 | 1024 | 128 | 50
      per tenant above the derived total  | 0   | 200 | 10 | 1024 | 200 | 200
      per tenant above the total          | 100 | 200 | 10 | 1024 | 100 | 100
      both configured                     | 100 | 30  | 10 | 1024 | 100 | 30
      """)
  void limitsAreDerivedFromTheHeapWhenNotConfigured(String what, long total, long perTenant, long maxBodyMiB,
      long heapMiB, long expectedTotalMiB, long expectedPerTenantMiB) {
    long t = total * MIB;
    long p = perTenant * MIB;
    Limits limits = Limits.resolve(t, p, maxBodyMiB * MIB, heapMiB * MIB);
    assertThat(limits).isEqualTo(new Limits(expectedTotalMiB * MIB, expectedPerTenantMiB * MIB));
  }

  @Test
  void bytesAreCountedAsTheyArriveAndGivenBackOnClose() {
    UploadBudget budget = new UploadBudget();
    Upload a = budget.open("acme");
    Upload b = budget.open("acme");
    assertThat(a.add(10, SMALL)).isEqualTo(Verdict.ACCEPTED);
    assertThat(b.add(25, SMALL)).isEqualTo(Verdict.ACCEPTED);
    assertThat(budget.heldBytes()).isEqualTo(35);
    assertThat(budget.heldBytes("acme")).isEqualTo(35);

    a.close();
    a.close();
    assertThat(budget.heldBytes()).isEqualTo(25);
    b.close();
    assertThat(budget.heldBytes()).isZero();
    assertThat(budget.tenants()).as("a tenant with nothing held is forgotten").isZero();
  }

  @Test
  void aChunkOverTheTenantsShareIsRefusedAndNotCounted() {
    UploadBudget budget = new UploadBudget();
    Upload a = budget.open("acme");
    assertThat(a.add(40, SMALL)).isEqualTo(Verdict.ACCEPTED);
    Upload more = budget.open("acme");
    assertThat(more.add(1, SMALL)).isEqualTo(Verdict.TENANT_FULL);
    assertThat(budget.heldBytes("acme")).isEqualTo(40);
    assertThat(budget.open("globex").add(40, SMALL)).as("another tenant is not affected").isEqualTo(Verdict.ACCEPTED);
  }

  @Test
  void aChunkOverTheTotalIsRefusedWhateverTheTenant() {
    UploadBudget budget = new UploadBudget();
    budget.open("a").add(40, SMALL);
    budget.open("b").add(40, SMALL);
    Upload c = budget.open("c");
    assertThat(c.add(30, SMALL)).isEqualTo(Verdict.TOTAL_FULL);
    assertThat(c.add(20, SMALL)).isEqualTo(Verdict.ACCEPTED);
    assertThat(budget.heldBytes()).isEqualTo(100);
  }

  @Test
  void aTenantOverItsShareGets429NotTheTotalsRefusal() {
    UploadBudget budget = new UploadBudget();
    budget.open("a").add(40, SMALL);
    budget.open("b").add(40, SMALL);
    assertThat(budget.open("a").add(30, SMALL)).isEqualTo(Verdict.TENANT_FULL);
  }

  @Test
  void aClosedUploadCountsNothingMore() {
    UploadBudget budget = new UploadBudget();
    Upload a = budget.open("acme");
    a.add(5, SMALL);
    a.close();
    assertThatThrownBy(() -> a.add(5, SMALL)).isInstanceOf(IllegalStateException.class);
    assertThat(budget.heldBytes()).isZero();
  }
}

package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FmtTest {
  @ParameterizedTest(name = "{0} ms → {1}")
  @CsvSource(textBlock = """
      0,         0s
      20,        20ms
      999,       999ms
      1000,      1s
      1500,      1.5s
      1020,      1.02s
      59999,     59.999s
      60000,     1m0s
      90000,     1m30s
      360000,    6m0s
      3600000,   1h0m0s
      3723400,   1h2m3.4s
      """)
  void resetsUseOpenAisDurationFormat(long millis, String expected) {
    assertThat(Fmt.duration(millis)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0} → {1}")
  @CsvSource(delimiter = ';', textBlock = """
      0;          0
      999;        999
      1000;       1,000
      24576;      24,576
      31204;      31,204
      1234567;    1,234,567
      -4096;      -4,096
      """)
  void numbersAreGroupedWithCommasInEveryLocale(long value, String expected) {
    assertThat(Fmt.grouped(value)).isEqualTo(expected);
  }
}

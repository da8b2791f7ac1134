package dev.sluice.deadline;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class BudgetParserTest {
  private static final long MS = 1_000_000L;
  private static final long S = 1_000_000_000L;

  // ---- X-Request-Timeout: the human format -----------------------------------------------------

  @ParameterizedTest(name = "''{0}'' = {1} ns")
  @CsvSource(delimiter = '|', value = {
      "250ms  | 250000000",
      "2.5s   | 2500000000",
      "30s    | 30000000000",
      "1m     | 60000000000",
      "1.5m   | 90000000000",
      "1h     | 3600000000000",
      "30     | 30000000000",     // a bare number is seconds
      "2.5    | 2500000000",
      "0.25   | 250000000",
      ".5s    | 500000000",
      "1ms    | 1000000",
      "0.5ms  | 500000",
      "'  30s  ' | 30000000000",  // surrounding whitespace is tolerated
      "10MS   | 10000000",         // units are case-insensitive in the human format
  })
  void humanFormat(String text, long nanos) {
    assertThat(BudgetParser.parseHuman(text)).isEqualTo(nanos);
  }

  @ParameterizedTest(name = "''{0}'' is rejected")
  @NullAndEmptySource
  @ValueSource(strings = {
      " ", "abc", "-1s", "-1", "0", "0s", "0ms", "0.0", "+5s", "1.5.2s", "1d", "1w", "s", "ms", "1e3", "1e3s",
      "10 seconds", "NaN", "Infinity", "1,5s", "5s5", "5 s s", "1us", "1ns", "0x10s",
      "99999999999999999999h", // far beyond any sensible budget: rejected rather than overflowing
  })
  void humanFormatRejects(String text) {
    assertThat(BudgetParser.parseHuman(text)).isEqualTo(-1);
  }

  @Test
  void humanFormatNeverRoundsAPositiveBudgetDownToZero() {
    assertThat(BudgetParser.parseHuman("0.0000001ms")).isEqualTo(1);
  }

  // ---- grpc-timeout: gRPC's format -------------------------------------------------------------

  @ParameterizedTest(name = "''{0}'' = {1} ns")
  @CsvSource(delimiter = '|', value = {
      "2500m     | 2500000000",         // m is milliseconds in gRPC, not minutes
      "1S        | 1000000000",
      "3M        | 180000000000",       // M is minutes
      "1H        | 3600000000000",
      "5u        | 5000",
      "9n        | 9",
      "250m      | 250000000",
      "00000001S | 1000000000",         // leading zeros count towards the 8 digits
      "99999999n | 99999999",
      "99999999S | 99999999000000000",  // 8 digits is the most the format allows
      "' 2S '    | 2000000000",
  })
  void grpcFormat(String text, long nanos) {
    assertThat(BudgetParser.parseGrpc(text)).isEqualTo(nanos);
  }

  @ParameterizedTest(name = "''{0}'' is rejected")
  @NullAndEmptySource
  @ValueSource(strings = {
      "12",          // no unit
      "123456789S",  // 9 digits
      "S", "m", " ",
      "1s", "1h", "1U", "1N", // units are case-sensitive
      "1x", "1ms", "2500ms", "1.5S", "-1S", "+1S", "1 S", "0S", "0n", "00000000H", "abc", "1SS",
  })
  void grpcFormatRejects(String text) {
    assertThat(BudgetParser.parseGrpc(text)).isEqualTo(-1);
  }

  /**
   * gRPC allows up to 8 digits with any unit, so {@code 99999999H} (about 11 400 years) is a valid
   * header. It must not overflow into a negative number and be rejected as malformed, nor wrap
   * into some arbitrary short budget: it is simply a very long budget.
   */
  @ParameterizedTest
  @ValueSource(strings = {"99999999H", "9999999H", "2562048H", "99999999M"})
  void grpcFormatLargestValuesAreVeryLongBudgetsNotOverflows(String text) {
    assertThat(BudgetParser.parseGrpc(text)).isGreaterThanOrEqualTo(Duration.ofDays(365).toNanos());
  }

  @Test
  void theTwoFormatsKeepTheirOwnMeaningOfM() {
    assertThat(BudgetParser.parseHuman("5m")).isEqualTo(5 * 60 * S);
    assertThat(BudgetParser.parseGrpc("5m")).isEqualTo(5 * MS);
  }

  @Test
  void formatsRemainingBudgetForUpstreamInMilliseconds() {
    assertThat(BudgetParser.formatMillis(2500 * MS)).isEqualTo("2500ms");
    assertThat(BudgetParser.formatMillis(1)).isEqualTo("1ms");        // never 0ms: that would mean "no budget"
    assertThat(BudgetParser.formatMillis(0)).isEqualTo("1ms");
    assertThat(BudgetParser.parseHuman(BudgetParser.formatMillis(1234 * MS))).isEqualTo(1234 * MS);
  }
}

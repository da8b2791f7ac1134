package dev.sluice.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.FakeClock;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class QuotaStateTest {
  private final FakeClock clock = new FakeClock();
  private final QuotaState q = new QuotaState(clock);

  @ParameterizedTest
  @CsvSource({
      "1s, 1000000000",
      "6m0s, 360000000000",
      "2m59.56s, 179560000000",
      "20ms, 20000000",
      "0.5s, 500000000",
      "1h2m3s, 3723000000000",
      "250ms, 250000000",
      "0s, 0",
      "' 7s ', 7000000000",
      "59.999s, 59999000000"})
  void readsOpenAiStyleResetDurations(String text, long nanos) {
    assertThat(QuotaState.resetNanos(text)).isEqualTo(nanos);
  }

  @ParameterizedTest
  @CsvSource(value = {"NULL", "''", "'   '", "soon", "s", "-1s", "ms"}, nullValues = "NULL")
  void unknownResetsCountAsOneSecond(String text) {
    assertThat(QuotaState.resetNanos(text)).isEqualTo(1_000_000_000L);
  }

  @Test
  void spentRequestsRestTheDeploymentUntilTheirReset() {
    q.update("0", "6m0s", null, null, 0, 0);
    assertThat(q.exhausted()).isTrue();
    assertThat(q.remainingRequests()).isZero();
    clock.advance(Duration.ofMinutes(6).minusMillis(1));
    assertThat(q.exhausted()).isTrue();
    clock.advance(Duration.ofMillis(1));
    assertThat(q.exhausted()).isFalse();
  }

  @Test
  void spentTokensRestItUntilTheTokenReset() {
    q.update("100", "1s", "0", "2m59.56s", 0, 0);
    assertThat(q.exhausted()).isTrue();
    assertThat(q.remainingTokens()).isZero();
    clock.advance(Duration.ofSeconds(2));
    assertThat(q.exhausted()).as("the request reset is not the one that counts").isTrue();
    clock.advance(Duration.ofMillis(177_560));
    assertThat(q.exhausted()).isFalse();
  }

  @Test
  void whenBothAreSpentTheLaterResetCounts() {
    q.update("0", "20ms", "0", "1s", 0, 0);
    clock.advance(Duration.ofMillis(500));
    assertThat(q.exhausted()).isTrue();
    clock.advance(Duration.ofMillis(500));
    assertThat(q.exhausted()).isFalse();
  }

  @Test
  void thresholdsSteerAwayBeforeTheLastRequest() {
    q.update("5", "1s", "10000", "1s", 5, 1000);
    assertThat(q.exhausted()).as("5 left, threshold 5").isTrue();
    q.update("6", "1s", "10000", "1s", 5, 1000);
    assertThat(q.exhausted()).isFalse();
    q.update("6", "1s", "999", "1s", 5, 1000);
    assertThat(q.exhausted()).isTrue();
  }

  @Test
  void newerHeadersWithHeadroomLiftTheRest() {
    q.update("0", "1m", null, null, 0, 0);
    assertThat(q.exhausted()).isTrue();
    q.update("40", "1s", null, null, 0, 0);
    assertThat(q.exhausted()).isFalse();
    assertThat(q.remainingRequests()).isEqualTo(40);
  }

  @Test
  void missingOrGarbledHeadersChangeNothing() {
    q.update("0", "1m", null, null, 0, 0);
    q.update(null, null, null, null, 0, 0);
    assertThat(q.exhausted()).isTrue();
    q.update("lots", "1s", "", null, 0, 0);
    assertThat(q.exhausted()).isTrue();
    assertThat(q.remainingRequests()).isZero();
  }

  @Test
  void freshStateIsNotExhaustedAndKnowsNothing() {
    assertThat(q.exhausted()).isFalse();
    assertThat(q.remainingRequests()).isEqualTo(-1);
    assertThat(q.remainingTokens()).isEqualTo(-1);
  }
}

package dev.sluice.admission;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.bucket4j.TimeMeter;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A key's rates, token budget and concurrency, on a clock that moves only when the test says so. */
class KeyLimitsTest {

  /** A Bucket4j clock for tests. */
  static final class FakeMeter implements TimeMeter {
    private long nanos = 1_000_000_000L;

    @Override
    public long currentTimeNanos() {
      return nanos;
    }

    @Override
    public boolean isWallClockBased() {
      return false;
    }

    void advance(Duration d) {
      nanos += d.toNanos();
    }
  }

  static ApiKey key(long rpm, long tpm, int maxConcurrency) {
    return new ApiKey("key_test", "test", "hash", "sk-sluice-abcd...", Set.of(), rpm, tpm, maxConcurrency,
        Priority.NORMAL, -1, 0, -1);
  }

  private final FakeMeter meter = new FakeMeter();

  private static Map<String, String> headers(KeyLimits kl) {
    Map<String, String> h = new LinkedHashMap<>();
    kl.describe(h::put);
    return h;
  }

  @Test
  void requestsPerMinuteRunOutAndRefillWithTheClock() {
    KeyLimits kl = new KeyLimits(key(60, -1, -1), meter);
    for (int i = 0; i < 60; i++) {
      assertThat(kl.tryAdmit(1)).as("request %d", i).isNull();
      kl.release();
    }
    KeyLimits.Refusal r = kl.tryAdmit(1);
    assertThat(r).isNotNull();
    assertThat(r.reason()).isEqualTo("rate_limited");
    assertThat(r.message()).contains("60 requests per minute");
    assertThat(r.retryAfterSeconds()).isEqualTo(1); // one request per second comes back
    assertThat(kl.active()).as("a refused request holds nothing").isZero();

    meter.advance(Duration.ofMillis(999));
    assertThat(kl.tryAdmit(1)).as("not quite a second later").isNotNull();
    meter.advance(Duration.ofMillis(1));
    assertThat(kl.tryAdmit(1)).as("one second later, one more").isNull();
    kl.release();
    assertThat(kl.tryAdmit(1)).isNotNull();

    meter.advance(Duration.ofSeconds(30));
    int admitted = 0;
    while (kl.tryAdmit(1) == null) {
      kl.release();
      admitted++;
    }
    assertThat(admitted).as("half a minute refills half the bucket").isEqualTo(30);

    meter.advance(Duration.ofHours(1));
    admitted = 0;
    while (kl.tryAdmit(1) == null) {
      kl.release();
      admitted++;
    }
    assertThat(admitted).as("an idle key gets at most its bucket, not an hour's worth").isEqualTo(60);
  }

  @Test
  void retryAfterIsTheWaitForTheNextRequestRoundedUp() {
    KeyLimits kl = new KeyLimits(key(6, -1, -1), meter); // one request per 10 s
    for (int i = 0; i < 6; i++) {
      assertThat(kl.tryAdmit(1)).isNull();
    }
    assertThat(kl.tryAdmit(1).retryAfterSeconds()).isEqualTo(10);
    meter.advance(Duration.ofMillis(8_500));
    assertThat(kl.tryAdmit(1).retryAfterSeconds()).isEqualTo(2); // 1.5 s left, rounded up
    meter.advance(Duration.ofMillis(1_499));
    assertThat(kl.tryAdmit(1).retryAfterSeconds()).as("never 0").isEqualTo(1);
  }

  @Test
  void tokensPerMinuteRunOutRefillAndSayWhen() {
    KeyLimits kl = new KeyLimits(key(-1, 1000, -1), meter);
    assertThat(kl.tryAdmit(400)).isNull();
    assertThat(kl.tryAdmit(400)).isNull();
    KeyLimits.Refusal r = kl.tryAdmit(400);
    assertThat(r).isNotNull();
    assertThat(r.reason()).isEqualTo("rate_limited");
    assertThat(r.message()).contains("1000 tokens per minute");
    // 200 left, 200 missing at 1000 per minute = 12 s
    assertThat(r.retryAfterSeconds()).isEqualTo(12);
    assertThat(kl.tryAdmit(200)).as("a smaller request still fits").isNull();
    meter.advance(Duration.ofSeconds(12));
    assertThat(kl.tryAdmit(200)).isNull();
    assertThat(kl.tryAdmit(1)).isNotNull();
  }

  @Test
  void aRequestLargerThanTheWholeBudgetIsChargedTheWholeBucketNotRefusedForever() {
    KeyLimits kl = new KeyLimits(key(-1, 1000, -1), meter);
    assertThat(kl.tryAdmit(5000)).isNull();
    assertThat(headers(kl)).containsEntry("x-ratelimit-remaining-tokens", "0");
    assertThat(kl.tryAdmit(5000).retryAfterSeconds()).isEqualTo(60);
  }

  @Test
  void aTokenRefusalGivesBackTheRequestItHadCounted() {
    KeyLimits kl = new KeyLimits(key(2, 100, -1), meter);
    assertThat(kl.tryAdmit(80)).isNull();
    assertThat(kl.tryAdmit(80)).as("over tokens").isNotNull();
    assertThat(headers(kl)).containsEntry("x-ratelimit-remaining-requests", "1");
    assertThat(kl.tryAdmit(10)).as("the refused request did not use up a request").isNull();
    assertThat(kl.tryAdmit(1).message()).contains("requests per minute");
    assertThat(kl.active()).isEqualTo(2);
  }

  @Test
  void reconciliationRefundsAnOverEstimate() {
    KeyLimits kl = new KeyLimits(key(-1, 1000, -1), meter);
    assertThat(kl.tryAdmit(800)).isNull();
    assertThat(kl.tryAdmit(800)).isNotNull();
    kl.reconcile(800, 100);
    kl.release();
    assertThat(headers(kl)).containsEntry("x-ratelimit-remaining-tokens", "900");
    assertThat(kl.tryAdmit(800)).as("the refund makes room").isNull();
  }

  @Test
  void reconciliationChargesAnUnderEstimateEvenIntoDebt() {
    KeyLimits kl = new KeyLimits(key(-1, 1000, -1), meter);
    assertThat(kl.tryAdmit(500)).isNull();
    kl.reconcile(500, 1500); // the provider reports 1500: the key owes 500 more than it had
    kl.release();
    assertThat(headers(kl)).containsEntry("x-ratelimit-remaining-tokens", "0");
    KeyLimits.Refusal r = kl.tryAdmit(100);
    assertThat(r).isNotNull();
    // 500 in debt plus 100 wanted = 600 tokens at 1000 per minute = 36 s
    assertThat(r.retryAfterSeconds()).isEqualTo(36);
    meter.advance(Duration.ofSeconds(35));
    assertThat(kl.tryAdmit(100)).isNotNull();
    meter.advance(Duration.ofSeconds(1));
    assertThat(kl.tryAdmit(100)).isNull();
  }

  @Test
  void reconciliationAgainstAClampedChargeUsesWhatWasCharged() {
    KeyLimits kl = new KeyLimits(key(-1, 1000, -1), meter);
    assertThat(kl.tryAdmit(5000)).isNull(); // charged 1000, the whole bucket
    kl.reconcile(5000, 200);
    assertThat(headers(kl)).containsEntry("x-ratelimit-remaining-tokens", "800");
  }

  @Test
  void unknownUsageLeavesTheEstimateCharged() {
    KeyLimits kl = new KeyLimits(key(-1, 1000, -1), meter);
    assertThat(kl.tryAdmit(300)).isNull();
    kl.reconcile(300, -1);
    assertThat(headers(kl)).containsEntry("x-ratelimit-remaining-tokens", "700");
  }

  @Test
  void concurrencyIsHeldUntilReleasedAndCostsNoRateWhenRefused() {
    KeyLimits kl = new KeyLimits(key(100, -1, 2), meter);
    assertThat(kl.tryAdmit(1)).isNull();
    assertThat(kl.tryAdmit(1)).isNull();
    KeyLimits.Refusal r = kl.tryAdmit(1);
    assertThat(r).isNotNull();
    assertThat(r.reason()).isEqualTo("concurrency");
    assertThat(r.message()).contains("2 requests in flight");
    assertThat(r.retryAfterSeconds()).isEqualTo(1);
    assertThat(kl.active()).isEqualTo(2);
    assertThat(headers(kl)).as("a concurrency refusal uses no request").containsEntry("x-ratelimit-remaining-requests", "98");
    kl.release();
    assertThat(kl.tryAdmit(1)).isNull();
    assertThat(kl.active()).isEqualTo(2);
  }

  @Test
  void aRateRefusalReleasesTheConcurrencyItTook() {
    KeyLimits kl = new KeyLimits(key(1, -1, 1), meter);
    assertThat(kl.tryAdmit(1)).isNull();
    kl.release();
    assertThat(kl.tryAdmit(1).reason()).isEqualTo("rate_limited");
    assertThat(kl.active()).isZero();
  }

  @Test
  void concurrencyHoldsUnderManyThreads() throws Exception {
    KeyLimits kl = new KeyLimits(key(-1, -1, 3), meter);
    java.util.concurrent.atomic.AtomicInteger now = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger peak = new java.util.concurrent.atomic.AtomicInteger();
    Thread[] ts = new Thread[6];
    for (int i = 0; i < ts.length; i++) {
      ts[i] = new Thread(() -> {
        for (int j = 0; j < 20_000; j++) {
          if (kl.tryAdmit(1) == null) {
            peak.accumulateAndGet(now.incrementAndGet(), Math::max);
            now.decrementAndGet();
            kl.release();
          }
        }
      });
      ts[i].start();
    }
    for (Thread t : ts) {
      t.join();
    }
    assertThat(peak.get()).isBetween(1, 3);
    assertThat(kl.active()).isZero();
  }

  @Test
  void headersDescribeWhatIsLeftInOpenAiNames() {
    KeyLimits kl = new KeyLimits(key(60, 6000, -1), meter);
    assertThat(kl.tryAdmit(3000)).isNull();
    assertThat(headers(kl)).containsExactly(
        Map.entry("x-ratelimit-limit-requests", "60"),
        Map.entry("x-ratelimit-remaining-requests", "59"),
        Map.entry("x-ratelimit-reset-requests", "1.0s"),
        Map.entry("x-ratelimit-limit-tokens", "6000"),
        Map.entry("x-ratelimit-remaining-tokens", "3000"),
        Map.entry("x-ratelimit-reset-tokens", "30.0s"));
    assertThat(headers(new KeyLimits(key(-1, -1, 5), meter))).as("nothing to describe without rates").isEmpty();
  }

  @Test
  void aTicketReconcilesItsEstimateAndReleasesOnce() {
    KeyLimits kl = new KeyLimits(key(-1, 1000, 1), meter);
    Ticket t = new Ticket(new java.util.concurrent.atomic.AtomicInteger(1));
    t.identify(kl);
    assertThat(kl.tryAdmit(600)).isNull();
    t.admitted(600);
    t.release(50);
    t.release(50);
    assertThat(kl.active()).isZero();
    assertThat(headers(kl)).containsEntry("x-ratelimit-remaining-tokens", "950");
  }
}

import java.net.URI;
import java.net.http.*;
import java.util.*;
import java.util.concurrent.*;
/**
 * Grows a gateway's upstream pool: sends N concurrent chat requests for the simulator's model
 * {@code fast}, each asking the simulator to hold its answer 3 s, and waits for them all. Used to
 * compare the gateway's CPU per request (wrk at saturation, CPU from /proc) with its pool at its
 * working size and after such a burst, while the idle connections are still kept (60 s):
 *
 * <pre>java bench/probes/PoolBurst.java http://127.0.0.1:9102 3000</pre>
 */
public class PoolBurst {
  public static void main(String[] a) throws Exception {
    int n = Integer.parseInt(a[1]);
    HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    String body = "{\"model\":\"fast\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"sim\":{\"header_delay\":\"3s\"}}";
    List<CompletableFuture<HttpResponse<String>>> fs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      fs.add(c.sendAsync(HttpRequest.newBuilder(URI.create(a[0] + "/v1/chat/completions")).header("content-type", "application/json")
          .timeout(java.time.Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()));
    }
    int ok = 0;
    for (var f : fs) { try { if (f.get().statusCode() == 200) ok++; } catch (Exception e) { } }
    System.out.println("burst: " + ok + "/" + n + " ok");
  }
}

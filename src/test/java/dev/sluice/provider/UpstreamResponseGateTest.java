package dev.sluice.provider;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.GzipUpstream;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * What passes the handler: final responses and their bodies, never an interim response or its parts,
 * and a compressed body decoded, with a decoder only while that response lasts.
 */
class UpstreamResponseGateTest {
  private static HttpResponse head(int status) {
    return new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(ints = {100, 102, 103, 199})
  void anInterimResponseAndItsEndAreDroppedAndTheAnswerPasses(int interim) {
    EmbeddedChannel ch = new EmbeddedChannel(new UpstreamResponseGate());
    ByteBuf interimBody = Unpooled.copiedBuffer("x", StandardCharsets.US_ASCII);
    ch.writeInbound(head(interim), new DefaultLastHttpContent(interimBody));
    ch.writeInbound(head(200), new DefaultHttpContent(Unpooled.copiedBuffer("ab", StandardCharsets.US_ASCII)),
        LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(interimBody.refCnt()).as("what was dropped is released").isZero();
    Object first = ch.readInbound();
    assertThat(first).isInstanceOf(HttpResponse.class);
    assertThat(((HttpResponse) first).status().code()).isEqualTo(200);
    DefaultHttpContent body = ch.readInbound();
    assertThat(body.content().toString(StandardCharsets.US_ASCII)).isEqualTo("ab");
    body.release();
    assertThat((Object) ch.readInbound()).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat((Object) ch.readInbound()).isNull();
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void switchingProtocolsAndFinalResponsesPassUntouched() {
    EmbeddedChannel ch = new EmbeddedChannel(new UpstreamResponseGate());
    ch.writeInbound(head(101), LastHttpContent.EMPTY_LAST_CONTENT, head(502), LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(((HttpResponse) ch.readInbound()).status().code()).isEqualTo(101);
    assertThat((Object) ch.readInbound()).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(((HttpResponse) ch.readInbound()).status().code()).isEqualTo(502);
    assertThat((Object) ch.readInbound()).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void twoInterimResponsesInARowAreBothDropped() {
    EmbeddedChannel ch = new EmbeddedChannel(new UpstreamResponseGate());
    ch.writeInbound(head(102), LastHttpContent.EMPTY_LAST_CONTENT, head(103), LastHttpContent.EMPTY_LAST_CONTENT,
        head(200), LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(((HttpResponse) ch.readInbound()).status().code()).isEqualTo(200);
    assertThat((Object) ch.readInbound()).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat((Object) ch.readInbound()).isNull();
  }

  private static String drainBody(EmbeddedChannel ch) {
    StringBuilder sb = new StringBuilder();
    for (Object m; (m = ch.readInbound()) != null; ) {
      if (m instanceof io.netty.handler.codec.http.HttpContent c) {
        sb.append(c.content().toString(StandardCharsets.UTF_8));
        c.release();
      }
    }
    return sb.toString();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"gzip", "GZIP", "x-gzip"})
  void aGzipAnswerIsDecodedAndTheNextAnswerMeetsNoDecoder(String coding) throws Exception {
    EmbeddedChannel ch = new EmbeddedChannel(new UpstreamResponseGate());
    HttpResponse zipped = head(200);
    zipped.headers().set("content-encoding", coding);
    byte[] z = GzipUpstream.gzip("{\"choices\":[],\"usage\":{\"total_tokens\":3}}".getBytes(StandardCharsets.UTF_8));
    ch.writeInbound(zipped, new DefaultHttpContent(Unpooled.wrappedBuffer(z, 0, 7)),
        new DefaultLastHttpContent(Unpooled.wrappedBuffer(z, 7, z.length - 7)));
    HttpResponse decodedHead = ch.readInbound();
    assertThat(decodedHead.headers().get("content-encoding")).as("decoded: no coding left").isNull();
    assertThat(drainBody(ch)).isEqualTo("{\"choices\":[],\"usage\":{\"total_tokens\":3}}");
    assertThat(ch.pipeline().get(UpstreamResponseGate.DECODER)).as("the decoder leaves with its response").isNull();

    HttpResponse plain = head(200);
    DefaultHttpContent part = new DefaultHttpContent(Unpooled.copiedBuffer("ab", StandardCharsets.US_ASCII));
    ch.writeInbound(plain, part, LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat((Object) ch.readInbound()).isSameAs(plain);
    assertThat((Object) ch.readInbound()).as("passed as it is, not through a decoder").isSameAs(part);
    part.release();
    assertThat((Object) ch.readInbound()).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(ch.finish()).isFalse();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"br", "zstd", "compress", "identity"})
  void aCodingItCannotDecodeIsLeftForTheAttemptToRefuse(String coding) {
    EmbeddedChannel ch = new EmbeddedChannel(new UpstreamResponseGate());
    HttpResponse r = head(200);
    r.headers().set("content-encoding", coding);
    ch.writeInbound(r, LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(((HttpResponse) ch.readInbound()).headers().get("content-encoding")).isEqualTo(coding);
    assertThat((Object) ch.readInbound()).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(ch.pipeline().get(UpstreamResponseGate.DECODER)).isNull();
    assertThat(ch.finish()).isFalse();
  }
}

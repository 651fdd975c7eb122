package dev.passgate.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The client against a small local HTTP server standing in for passgate. */
class PassgateClientTest {

    private static final String KEY = "the-api-key-0123456789";
    private static final String USER_ID = "64b7f0c2a1d3e4f5a6b7c8d1";
    private static final String OLD = "Old-Passw0rd!";
    private static final String NEW = "New-Passw0rd-42!";

    private HttpServer server;
    private final List<Map<String, String>> seen = new CopyOnWriteArrayList<>();
    private final List<String> bodies = new CopyOnWriteArrayList<>();
    private final List<String> logged = new CopyOnWriteArrayList<>();
    private final Handler capture =
            new Handler() {
                @Override
                public void publish(LogRecord record) {
                    logged.add(String.valueOf(record.getMessage()) + " " + List.of(
                            record.getParameters() == null ? new Object[0] : record.getParameters()));
                }

                @Override
                public void flush() {}

                @Override
                public void close() {}
            };
    private int status;
    private String answer;
    private Map<String, String> headers = Map.of();
    private long delayMillis;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext(
                "/",
                exchange -> {
                    seen.add(
                            Map.of(
                                    "path", exchange.getRequestURI().toString(),
                                    "key", String.valueOf(exchange.getRequestHeaders().getFirst("X-API-Key")),
                                    "xff", String.valueOf(exchange.getRequestHeaders().getFirst("X-Forwarded-For"))));
                    bodies.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
                    if (delayMillis > 0) {
                        try {
                            Thread.sleep(delayMillis);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    byte[] body = answer.getBytes(StandardCharsets.UTF_8);
                    headers.forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
                    exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
                    try (OutputStream out = exchange.getResponseBody()) {
                        out.write(body);
                    }
                });
        server.start();
        Logger.getLogger(PassgateClient.class.getName()).addHandler(capture);
    }

    @AfterEach
    void stop() {
        Logger.getLogger(PassgateClient.class.getName()).removeHandler(capture);
        server.stop(0);
        for (String line : logged) {
            assertFalse(line.contains(KEY) || line.contains(OLD) || line.contains(NEW), line);
        }
    }

    private PassgateSettings settings(String url, boolean forward) {
        return settings(url, forward, "5");
    }

    private PassgateSettings settings(String url, boolean forward, String timeoutSeconds) {
        return PassgateSettings.from(
                Map.of(
                        PassgateSettings.URL, url,
                        PassgateSettings.API_KEY, "unused: the key is passed resolved",
                        PassgateSettings.TIMEOUT, timeoutSeconds,
                        PassgateSettings.FORWARD_CLIENT_ADDRESS, Boolean.toString(forward)));
    }

    private boolean loggedThat(String text) {
        return logged.stream().anyMatch(line -> line.contains(text));
    }

    private String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/";
    }

    private ChangeOutcome change(int status, String answer, Map<String, String> headers) {
        this.status = status;
        this.answer = answer;
        this.headers = headers;
        return PassgateClient.create()
                .changePassword(settings(url(), true), KEY, USER_ID, OLD, NEW, "10.1.2.3");
    }

    private ChangeOutcome change(String timeoutSeconds, int status, String answer) {
        this.status = status;
        this.answer = answer;
        return PassgateClient.create()
                .changePassword(
                        settings(url(), true, timeoutSeconds), KEY, USER_ID, OLD, NEW, "10.1.2.3");
    }

    @Test
    void aChangeSendsTheKeyTheBodyAndThePersonsAddress() {
        ChangeOutcome outcome =
                change(200, "{\"status\": true, \"data\": {\"passwordChanged\": \"OK\"}}", Map.of());
        assertEquals(ChangeOutcome.Kind.CHANGED, outcome.kind());
        assertEquals("/v1/users/" + USER_ID + "/change-password", seen.get(0).get("path"));
        assertEquals(KEY, seen.get(0).get("key"));
        assertEquals("10.1.2.3", seen.get(0).get("xff"));
        assertEquals(
                "{\"oldPassword\":\"" + OLD + "\",\"newPassword\":\"" + NEW + "\"}", bodies.get(0));
    }

    @Test
    void noAddressIsForwardedWhenSwitchedOff() {
        status = 200;
        answer = "{}";
        PassgateClient.create()
                .changePassword(settings(url(), false), KEY, USER_ID, OLD, NEW, "10.1.2.3");
        assertEquals("null", seen.get(0).get("xff"));
    }

    @Test
    void aPolicyRefusalKeepsItsReason() {
        ChangeOutcome outcome =
                change(
                        400,
                        "{\"status\": false, \"error\": {\"code\": 5024, \"message\": \"New password"
                                + " rejected by password policy\", \"details\": [{\"field\": \"newPassword\","
                                + " \"reason\": \"passwordInHistory\", \"message\": \"...\"}]}}",
                        Map.of());
        assertEquals(ChangeOutcome.Kind.POLICY_REJECTED, outcome.kind());
        assertEquals(5024, outcome.code());
        assertEquals("newPassword", outcome.field());
        assertEquals("passwordInHistory", outcome.reason());
    }

    @Test
    void tooManyAttemptsCarriesTheWait() {
        ChangeOutcome outcome =
                change(
                        429,
                        "{\"status\": false, \"error\": {\"code\": 4029, \"message\": \"Too many attempts\"}}",
                        Map.of("Retry-After", "893"));
        assertEquals(ChangeOutcome.Kind.TOO_MANY_ATTEMPTS, outcome.kind());
        assertEquals(893, outcome.retryAfterSeconds());
    }

    @Test
    void eachContractCodeHasItsKind() {
        Map<Integer, ChangeOutcome.Kind> kinds =
                Map.of(
                        5023, ChangeOutcome.Kind.INCORRECT_PASSWORD,
                        5025, ChangeOutcome.Kind.PASSWORD_EXPIRED,
                        5026, ChangeOutcome.Kind.ACCOUNT_LOCKED,
                        5030, ChangeOutcome.Kind.DIRECTORY_UNAVAILABLE,
                        1001, ChangeOutcome.Kind.INVALID,
                        4001, ChangeOutcome.Kind.MISCONFIGURED,
                        4003, ChangeOutcome.Kind.MISCONFIGURED,
                        3001, ChangeOutcome.Kind.MISCONFIGURED,
                        5000, ChangeOutcome.Kind.UNAVAILABLE);
        kinds.forEach(
                (code, kind) ->
                        assertEquals(
                                kind,
                                change(400, "{\"status\": false, \"error\": {\"code\": " + code + "}}", Map.of())
                                        .kind(),
                                "code " + code));
    }

    @Test
    void anAnswerThatIsNotPassgatesIsUnavailable() {
        // A proxy's 503 (nothing behind it to forward to), or a status passgate never says.
        assertEquals(
                ChangeOutcome.Kind.UNAVAILABLE,
                change(503, "<html>Service Unavailable</html>", Map.of()).kind());
        assertEquals(ChangeOutcome.Kind.UNAVAILABLE, change(418, "", Map.of()).kind());
    }

    @Test
    void aRedirectIsNotFollowedSoTheKeyGoesNowhereElse() {
        ChangeOutcome outcome = change(307, "", Map.of("Location", url() + "elsewhere"));
        assertEquals(ChangeOutcome.Kind.UNAVAILABLE, outcome.kind());
        assertEquals(1, seen.size());
    }

    @Test
    void nobodyListeningIsUnavailable() {
        server.stop(0);
        ChangeOutcome outcome =
                PassgateClient.create()
                        .changePassword(settings(url(), true), KEY, USER_ID, OLD, NEW, null);
        assertEquals(ChangeOutcome.Kind.UNAVAILABLE, outcome.kind());
        assertEquals(0, outcome.status());
        assertNull(outcome.reason());
        assertTrue(loggedThat("could not be reached"), logged.toString());
    }

    @Test
    void aHostThatDoesNotResolveIsUnavailable() {
        ChangeOutcome outcome =
                PassgateClient.create()
                        .changePassword(
                                settings("http://passgate.invalid", true), KEY, USER_ID, OLD, NEW, null);
        assertEquals(ChangeOutcome.Kind.UNAVAILABLE, outcome.kind());
    }

    // -- a 200 is a change only with passgate's success body -------------------------------

    @Test
    void onlyPassgatesSuccessBodyIsAChange() {
        String[] notPassgates = {
            "<html><body>Welcome " + NEW + "</body></html>",
            "",
            "{}",
            "[]",
            "{\"status\": true}",
            "{\"status\": true, \"data\": {}}",
            "{\"status\": \"true\", \"data\": {\"passwordChanged\": \"OK\"}}",
            "{\"status\": false, \"data\": {\"passwordChanged\": \"OK\"}}",
            "{\"status\": true, \"data\": {\"passwordChanged\": \"ok\"}}",
            "{\"status\": true, \"data\": {\"passwordChanged\": true}}",
        };
        for (String body : notPassgates) {
            ChangeOutcome outcome = change(200, body, Map.of());
            assertEquals(ChangeOutcome.Kind.UNEXPECTED_ANSWER, outcome.kind(), body);
            assertEquals(200, outcome.status(), body);
        }
        assertEquals(ChangeOutcome.Kind.UNEXPECTED_ANSWER, change(204, "", Map.of()).kind());
        assertTrue(loggedThat("that is not passgate's success"), logged.toString());
        assertEquals(
                ChangeOutcome.Kind.CHANGED,
                change(200, "{\"status\":true,\"data\":{\"passwordChanged\":\"OK\"}}", Map.of())
                        .kind());
    }

    // -- sent, but no answer: the outcome is unknown ----------------------------------------

    @Test
    void noAnswerInTimeIsAnUnknownOutcomeNotANoChange() {
        delayMillis = 2500;
        ChangeOutcome outcome =
                change(
                        "1",
                        200,
                        "{\"status\": true, \"data\": {\"passwordChanged\": \"OK\"}}");
        assertEquals(ChangeOutcome.Kind.OUTCOME_UNKNOWN, outcome.kind());
        assertEquals(1, seen.size()); // it was sent, and passgate went on with it
        assertTrue(loggedThat("its outcome is unknown"), logged.toString());
    }

    @Test
    void aConnectionBrokenAfterTheRequestIsAnUnknownOutcome() throws Exception {
        try (ServerSocket raw = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread reader =
                    new Thread(
                            () -> {
                                try (Socket socket = raw.accept()) {
                                    socket.setSoTimeout(500);
                                    InputStream in = socket.getInputStream();
                                    byte[] buffer = new byte[8192];
                                    try {
                                        while (in.read(buffer) >= 0) {
                                            // the request, read and dropped; then the line breaks
                                        }
                                    } catch (SocketTimeoutException done) {
                                        // all of it arrived
                                    }
                                } catch (IOException e) {
                                    // the test's own end
                                }
                            });
            reader.start();
            ChangeOutcome outcome =
                    PassgateClient.create()
                            .changePassword(
                                    settings("http://127.0.0.1:" + raw.getLocalPort(), true),
                                    KEY,
                                    USER_ID,
                                    OLD,
                                    NEW,
                                    null);
            reader.join();
            assertEquals(ChangeOutcome.Kind.OUTCOME_UNKNOWN, outcome.kind());
            assertTrue(loggedThat("its outcome is unknown"), logged.toString());
        }
    }

    @Test
    void aProxysGatewayTimeoutIsAnUnknownOutcome() {
        assertEquals(
                ChangeOutcome.Kind.OUTCOME_UNKNOWN,
                change(504, "<html>Gateway Timeout</html>", Map.of()).kind());
    }

    @Test
    void anErrorThatMayComeAfterTheChangeIsAnUnknownOutcome() {
        // A proxy's 502 (the answer lost on the way back), passgate's 500/5000 (an error after
        // the directory answered): "not changed" could be false, as it was before.
        assertEquals(
                ChangeOutcome.Kind.OUTCOME_UNKNOWN,
                change(502, "<html>Bad Gateway</html>", Map.of()).kind());
        assertEquals(
                ChangeOutcome.Kind.OUTCOME_UNKNOWN,
                change(
                                500,
                                "{\"status\": false, \"error\": {\"code\": 5000,"
                                        + " \"message\": \"Internal error\"}}",
                                Map.of())
                        .kind());
    }

    // -- 401, 403, 404: set up wrongly, whatever the body -----------------------------------

    @Test
    void aWrongPathOrKeyIsMisconfiguredWhateverTheBody() {
        String[][] answers = {
            {"404", "{\"status\": false, \"error\": {\"code\": 4004, \"message\": \"Not found\","
                    + " \"details\": []}}"},
            {"404", "<html><body>Not Found</body></html>"},
            {"404", ""},
            {"404", "{\"status\": false, \"error\": {\"code\": 3001}}"},
            {"401", "{\"status\": false, \"error\": {\"code\": 4001}}"},
            {"401", "<html>Unauthorized</html>"},
            {"403", ""},
        };
        for (String[] answer : answers) {
            assertEquals(
                    ChangeOutcome.Kind.MISCONFIGURED,
                    change(Integer.parseInt(answer[0]), answer[1], Map.of()).kind(),
                    answer[0] + " " + answer[1]);
        }
        assertTrue(loggedThat("HTTP 404, code 4004: check passgate.url"), logged.toString());
        assertTrue(loggedThat("HTTP 404, code 0: check passgate.url"), logged.toString());
        assertTrue(loggedThat("HTTP 401, code 4001: passgate does not accept"), logged.toString());
    }

    @Test
    void thePolicyIsReadForTheUser() {
        status = 200;
        answer = "{\"status\": true, \"data\": {\"minLength\": 10, \"history\": 3}}";
        var policy =
                PassgateClient.create().policy(settings(url(), true), KEY, USER_ID, "10.1.2.3");
        assertTrue(policy.isPresent());
        assertEquals(10, policy.get().path("minLength").asInt());
        assertEquals("/v1/password-policy?userId=" + USER_ID, seen.get(0).get("path"));
        assertEquals(KEY, seen.get(0).get("key"));
    }
}

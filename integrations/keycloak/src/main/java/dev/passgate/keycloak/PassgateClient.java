package dev.passgate.keycloak;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLHandshakeException;
import org.jboss.logging.Logger;
import org.keycloak.util.JsonSerialization;

/**
 * passgate's v1 API as this extension calls it: {@code POST /v1/users/{userId}/change-password}
 * and {@code GET /v1/password-policy?userId=}, authenticated with an API key ({@code X-API-Key})
 * that holds passgate's admin role.
 *
 * <p>Neither the passwords nor the key ever reach a log line or an exception message: failures
 * are logged with passgate's base URL, the HTTP status, passgate's error code and the Java
 * exception's class only. Redirects are never followed, so the key goes nowhere but the
 * configured URL.
 *
 * <p>Only passgate's own success body ({@code "status": true} and {@code data.passwordChanged}
 * {@code "OK"}) counts as a change. A request that could not be sent (no connection) changed
 * nothing; one that was sent and got no answer (the timeout, a broken connection, a proxy's 504)
 * has an unknown outcome: passgate may still finish it.
 */
public final class PassgateClient {

    private static final Logger LOG = Logger.getLogger(PassgateClient.class);
    private static final int MAX_ANSWER_BYTES = 64 * 1024;

    private final HttpClient http;

    public PassgateClient(HttpClient http) {
        this.http = http;
    }

    /** One HTTP client for the whole server: HTTP/1.1, no redirects, a connect timeout. */
    public static PassgateClient create() {
        return new PassgateClient(
                HttpClient.newBuilder()
                        .version(HttpClient.Version.HTTP_1_1)
                        .followRedirects(HttpClient.Redirect.NEVER)
                        .connectTimeout(Duration.ofSeconds(5))
                        .build());
    }

    /**
     * Ask passgate to change {@code userId}'s password; the old password proves it is the user.
     *
     * @param clientAddress the end user's address, sent as {@code X-Forwarded-For} (null: none);
     *     passgate believes it only from a peer in its {@code PASSGATE_TRUSTED_PROXIES}
     */
    public ChangeOutcome changePassword(
            PassgateSettings settings,
            String apiKey,
            String userId,
            String oldPassword,
            String newPassword,
            String clientAddress) {
        Map<String, String> body = new LinkedHashMap<>();
        body.put("oldPassword", oldPassword);
        body.put("newPassword", newPassword);
        byte[] json;
        try {
            json = JsonSerialization.writeValueAsBytes(body);
        } catch (IOException e) {
            LOG.warnf("passgate: could not encode a request (%s)", e.getClass().getName());
            return ChangeOutcome.unreachable();
        }
        HttpRequest.Builder request =
                request(settings, apiKey, "/v1/users/" + userId + "/change-password", clientAddress)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(json));
        HttpResponse<byte[]> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            if (notSent(e)) {
                LOG.warnf(
                        "passgate at %s could not be reached for a change (%s): nothing was sent",
                        settings.baseUrl(), e.getClass().getName());
                return ChangeOutcome.unreachable();
            }
            LOG.warnf(
                    "passgate at %s did not answer a change that was sent (%s, timeout %d s):"
                            + " its outcome is unknown",
                    settings.baseUrl(), e.getClass().getName(), settings.timeout().toSeconds());
            return ChangeOutcome.unknown();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.warnf(
                    "passgate at %s: waiting for a change was interrupted: its outcome is unknown",
                    settings.baseUrl());
            return ChangeOutcome.unknown();
        }
        ChangeOutcome outcome = read(response);
        switch (outcome.kind()) {
            case UNEXPECTED_ANSWER -> LOG.warnf(
                    "passgate at %s answered a change with HTTP %d that is not passgate's success"
                            + " (check passgate.url): the password may not have been changed",
                    settings.baseUrl(), outcome.status());
            case OUTCOME_UNKNOWN -> LOG.warnf(
                    "passgate at %s answered a change with HTTP %d (a proxy that stopped waiting or"
                            + " lost the answer, or an error after the directory answered):"
                            + " its outcome is unknown",
                    settings.baseUrl(), outcome.status());
            case DIRECTORY_UNAVAILABLE -> LOG.warnf(
                    "passgate at %s answered a change with HTTP %d, code %d: the directory did not"
                            + " answer, or the change's outcome could not be confirmed",
                    settings.baseUrl(), outcome.status(), outcome.code());
            case MISCONFIGURED -> LOG.warnf(
                    "passgate at %s answered a change with HTTP %d, code %d: %s",
                    settings.baseUrl(), outcome.status(), outcome.code(), misconfiguration(outcome));
            case UNAVAILABLE -> LOG.warnf(
                    "passgate at %s answered a change with HTTP %d, code %d",
                    settings.baseUrl(), outcome.status(), outcome.code());
            default -> {
                // passgate's own answer about the password: the form says it
            }
        }
        return outcome;
    }

    /**
     * Whether the request never left: no connection could be opened (refused, a name that does
     * not resolve, the connect timeout, a TLS handshake that failed). Anything else after
     * {@code send} began may have reached passgate.
     */
    static boolean notSent(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException
                    || t instanceof HttpConnectTimeoutException
                    || t instanceof UnknownHostException
                    || t instanceof UnresolvedAddressException
                    || t instanceof SSLHandshakeException) {
                return true;
            }
        }
        return false;
    }

    /** What to check, for the log, when passgate (or whatever answered) refuses the call itself. */
    private static String misconfiguration(ChangeOutcome outcome) {
        return switch (outcome.status()) {
            case 401 -> "passgate does not accept the API key (check passgate.apiKey)";
            case 403 -> "the API key lacks passgate's admin role";
            case 404 -> outcome.code() == 3001
                    ? "passgate has no entry with this user's id (check the user id attribute)"
                    : "check passgate.url: this path is not passgate's change-password endpoint";
            default -> "the extension or the user is set up wrongly";
        };
    }

    /** The rules that apply to {@code userId} ({@code data} of the policy answer), if passgate says. */
    public Optional<JsonNode> policy(
            PassgateSettings settings, String apiKey, String userId, String clientAddress) {
        String path = "/v1/password-policy?userId=" + URLEncoder.encode(userId, StandardCharsets.UTF_8);
        try {
            HttpResponse<byte[]> response =
                    http.send(
                            request(settings, apiKey, path, clientAddress).GET().build(),
                            HttpResponse.BodyHandlers.ofByteArray());
            if (response.statusCode() != 200) {
                LOG.warnf(
                        "passgate at %s answered the policy with HTTP %d",
                        settings.baseUrl(), response.statusCode());
                return Optional.empty();
            }
            JsonNode data = parse(response.body()).path("data");
            return data.isObject() ? Optional.of(data) : Optional.empty();
        } catch (IOException e) {
            LOG.warnf(
                    "passgate at %s did not answer the policy (%s)",
                    settings.baseUrl(), e.getClass().getName());
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private static HttpRequest.Builder request(
            PassgateSettings settings, String apiKey, String path, String clientAddress) {
        HttpRequest.Builder builder =
                HttpRequest.newBuilder(URI.create(settings.baseUrl() + path))
                        .timeout(settings.timeout())
                        .header("Accept", "application/json")
                        .header("X-API-Key", apiKey);
        if (settings.forwardClientAddress() && clientAddress != null && !clientAddress.isBlank()) {
            builder.header("X-Forwarded-For", clientAddress);
        }
        return builder;
    }

    /**
     * passgate's answer as an outcome: its status, its success body and {@code error.code}
     * decide, nothing else.
     */
    static ChangeOutcome read(HttpResponse<byte[]> response) {
        int status = response.statusCode();
        if (status >= 200 && status < 300) {
            return ChangeOutcome.of(
                    succeeded(response.body())
                            ? ChangeOutcome.Kind.CHANGED
                            : ChangeOutcome.Kind.UNEXPECTED_ANSWER,
                    status,
                    0);
        }
        if (status == 500 || status == 502 || status == 504) {
            // 504, 502: a proxy in front of passgate forwarded the call, then gave up or lost
            // the answer; 500: passgate's 5000 (or a proxy's) can come after the change was made.
            return ChangeOutcome.of(ChangeOutcome.Kind.OUTCOME_UNKNOWN, status, 0);
        }
        JsonNode error;
        try {
            error = parse(response.body()).path("error");
        } catch (IOException e) {
            error = MissingNode.getInstance();
        }
        if (status == 401 || status == 403 || status == 404) {
            // The extension's URL or key, or the user's entry: whatever the body says.
            return ChangeOutcome.of(
                    ChangeOutcome.Kind.MISCONFIGURED, status, error.path("code").asInt(0));
        }
        if (error.isMissingNode()) {
            return ChangeOutcome.of(ChangeOutcome.Kind.UNAVAILABLE, status, 0);
        }
        int code = error.path("code").asInt(0);
        JsonNode detail = error.path("details").path(0);
        String field = detail.path("field").isTextual() ? detail.path("field").asText() : null;
        String reason = detail.path("reason").isTextual() ? detail.path("reason").asText() : null;
        long retryAfter =
                response.headers().firstValue("Retry-After").map(PassgateClient::seconds).orElse(0L);
        ChangeOutcome.Kind kind =
                switch (code) {
                    case 5023 -> ChangeOutcome.Kind.INCORRECT_PASSWORD;
                    case 5024 -> ChangeOutcome.Kind.POLICY_REJECTED;
                    case 5025 -> ChangeOutcome.Kind.PASSWORD_EXPIRED;
                    case 5026 -> ChangeOutcome.Kind.ACCOUNT_LOCKED;
                    case 4029 -> ChangeOutcome.Kind.TOO_MANY_ATTEMPTS;
                    case 1001 -> ChangeOutcome.Kind.INVALID;
                    case 5030 -> ChangeOutcome.Kind.DIRECTORY_UNAVAILABLE;
                    case 4001, 4002, 4003, 3001 -> ChangeOutcome.Kind.MISCONFIGURED;
                    default -> ChangeOutcome.Kind.UNAVAILABLE;
                };
        return new ChangeOutcome(kind, status, code, field, reason, retryAfter);
    }

    /** passgate's success body: {@code {"status": true, "data": {"passwordChanged": "OK"}}}. */
    private static boolean succeeded(byte[] body) {
        JsonNode answer;
        try {
            answer = parse(body);
        } catch (IOException e) {
            return false;
        }
        JsonNode changed = answer.path("data").path("passwordChanged");
        return answer.path("status").isBoolean()
                && answer.path("status").booleanValue()
                && changed.isTextual()
                && "OK".equals(changed.textValue());
    }

    private static JsonNode parse(byte[] body) throws IOException {
        if (body == null || body.length == 0 || body.length > MAX_ANSWER_BYTES) {
            throw new IOException("no usable answer");
        }
        JsonNode root = JsonSerialization.mapper.readTree(body);
        if (root == null) {
            throw new IOException("no usable answer");
        }
        return root;
    }

    private static long seconds(String value) {
        try {
            return Math.max(0, Long.parseLong(value.trim()));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}

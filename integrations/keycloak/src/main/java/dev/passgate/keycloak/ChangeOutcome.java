package dev.passgate.keycloak;

/**
 * What passgate answered to one change request, reduced to what the form needs.
 *
 * <p>Built only from the status, passgate's error code, the first detail's field and reason
 * and {@code Retry-After}: never from anything that could hold a password.
 *
 * @param kind what happened
 * @param status the HTTP status (0 when passgate could not be reached)
 * @param code passgate's {@code error.code} (0 when there was none)
 * @param field the first {@code error.details[].field}, or null
 * @param reason the first {@code error.details[].reason}, or null
 * @param retryAfterSeconds {@code Retry-After} of a 429, else 0
 */
public record ChangeOutcome(
        Kind kind, int status, int code, String field, String reason, long retryAfterSeconds) {

    /** The outcomes the form tells apart, one per row of passgate's v1 error table that matters. */
    public enum Kind {
        /** 200 with passgate's success body: the directory holds the new password. */
        CHANGED,
        /**
         * A 2xx that is not passgate's success body (e.g. a wrong URL answering with a page):
         * whatever answered, nothing says the password changed.
         */
        UNEXPECTED_ANSWER,
        /**
         * The request was sent but no answer came (the timeout, a connection broken after
         * sending, a proxy's 504): passgate may still have changed the password, or not.
         */
        OUTCOME_UNKNOWN,
        /** 400 / 5023: the bind with the current password failed. */
        INCORRECT_PASSWORD,
        /** 400 / 5024: a rule refused the new password; {@link #reason} says which. */
        POLICY_REJECTED,
        /** 400 / 5025: the current password is right but expired, and passgate cannot set it. */
        PASSWORD_EXPIRED,
        /** 400 / 5026: the directory reports the account locked or disabled. */
        ACCOUNT_LOCKED,
        /** 429 / 4029: the limiter or the last-straw guard; {@link #retryAfterSeconds} says when. */
        TOO_MANY_ATTEMPTS,
        /** 400 / 1001: passgate's own validation, on {@link #field}. */
        INVALID,
        /**
         * 503 / 5030: the directory did not answer, or passgate could not confirm what a change
         * it sent did; the contract does not tell the two apart, so the change may have happened.
         */
        DIRECTORY_UNAVAILABLE,
        /**
         * passgate could not be reached (nothing was sent), or answered an error this extension
         * does not understand.
         */
        UNAVAILABLE,
        /**
         * 401, 403, 404 (whatever the body, passgate's or not): the extension's URL or key, or the
         * user's entry, is set up wrongly.
         */
        MISCONFIGURED
    }

    static ChangeOutcome of(Kind kind, int status, int code) {
        return new ChangeOutcome(kind, status, code, null, null, 0);
    }

    /** The request could not be sent: nothing changed. */
    static ChangeOutcome unreachable() {
        return of(Kind.UNAVAILABLE, 0, 0);
    }

    /** The request was sent, but its answer never came. */
    static ChangeOutcome unknown() {
        return of(Kind.OUTCOME_UNKNOWN, 0, 0);
    }
}

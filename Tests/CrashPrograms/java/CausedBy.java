// A repository wraps a parse failure in its own exception, and the service wraps that again:
// the uncaught exception prints a "Caused by:" chain with "... N more" elisions.
public class CausedBy {
    // REBUILD-PADDING

    static final class StoreException extends RuntimeException {
        StoreException(String message, Throwable cause) { super(message, cause); }
    }

    static int parsePort(String text) {
        return Integer.parseInt(text);
    }

    static int loadPort(String text) {
        try {
            return parsePort(text);
        } catch (NumberFormatException e) {
            throw new IllegalStateException("bad port in /etc/orders/store.conf", e);
        }
    }

    static void openStore() {
        try {
            loadPort("80a");
        } catch (IllegalStateException e) {
            throw new StoreException("cannot open store", e);
        }
    }

    public static void main(String[] args) {
        System.out.println("store: opening");
        openStore();
    }
}

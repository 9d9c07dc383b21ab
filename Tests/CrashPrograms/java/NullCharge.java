// A billing job looks up an account that is not there and calls a method on null: the JVM's
// helpful NullPointerException message, uncaught in "main".
import java.util.HashMap;
import java.util.Map;

public class NullCharge {
    // REBUILD-PADDING

    static final class Account {
        long balance;
        String currency() { return "EUR"; }
    }

    static String charge(Map<String, Account> accounts, String id, long amount) {
        Account account = accounts.get(id);
        account.balance -= amount;
        return account.currency();
    }

    public static void main(String[] args) {
        Map<String, Account> accounts = new HashMap<>();
        accounts.put("alice", new Account());
        System.out.println("billing: starting");
        System.out.println(charge(accounts, "bob-7731", 5));
    }
}

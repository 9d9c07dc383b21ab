/// The journal `MESSAGE_ID` of each supervisor event (SPEC §6), so `journalctl MESSAGE_ID=…`
/// finds every entry of one kind. Generated once with `systemd-id128 new`; they are part of
/// the contract (docs/systemd.md lists them) and never change. A new `EventKind` breaks the
/// build here until it gets its own.
///
/// `exit` events are split by class: a death classed `crash`, `hang` or `limit` carries that
/// class's id (every crash entry carries `crash`), every other death carries `exit`.
public enum JournalMessageID {
    public static let crash = "02b2d4ceaade4a9ebee1be8a9efd8ade"
    public static let hang = "7d876f007e234d429f018df6e1ad6333"
    public static let limit = "bfc5b008b1fc4ffba11313551fa6687e"
    public static let exit = "17e5236690d449c98d48ed47f5b8afbf"

    /// The id for an event of `kind`; `deathClass` is the `CLASS` of an `exit` event.
    public static func of(_ kind: EventKind, deathClass: String? = nil) -> String {
        switch kind {
        case .exit:
            switch deathClass.flatMap(DeathClass.init(rawValue:)) {
            case .crash?: return crash
            case .hang?: return hang
            case .limit?: return limit
            case .clean?, .transient?, .persistent?, .corruption?, nil: return exit
            }
        case .spawn: return "b03cf9e8ada94df083f4bb9b01794472"
        case .ready: return "a28466373ff64ff1821719ec86350d02"
        case .restart: return "e3b4ac3dadba4e04bd4075d261b268ab"
        case .backoff: return "cabe1f7c8a554216b4df21907a639ff6"
        case .breakerOpen: return "0164b59038e04bc4ae63e79e90f5196e"
        case .recovered: return "090f47dddbe44abd9ced26c518c1e5bf"
        case .failed: return "6ee72dfff5b6486fbe9429dacfcecbaf"
        case .quarantined: return "02ffd95c8a1c497e94aaddabde251f9a"
        case .watchdog: return "d5a0142b3c814d868f103fa8508298dd"
        case .reload: return "6de93c8a13124fd6a58ae5599c386aa1"
        case .stop: return "6395aa689c8b4c898cdd6fa1ce3524b7"
        case .startTimeout: return "84d866460ba14bb696acf06b7e0408f4"
        case .waiting: return "17327a80f9534b98a36e36473daaad12"
        case .notifyRejected: return "759a369cf6764313b56ee571d0bec878"
        case .outputDropped: return "a9a8d4a701a243b3bf41d7092eb8c2dc"
        case .reportNotSaved: return "0e1f49dfc1a645028c60843c5906346a"
        case .daemon: return "266ad6c2c7fa42ac97b5b4c157b1df8c"
        case .command: return "cc51963d0d4f4e6d92a575b874d8450a"
        case .alert: return "6c0b0d86f52c433183252c19a305013c"
        case .alertCleared: return "1c669c5796084e258d31ca8c92c06631"
        case .hook: return "122dd6634b8f4637b12a76cf5ae81c51"
        case .health: return "a50b2e43fb3c4ec39886c9c6cfb05b40"
        }
    }
}

/// The numbers of the application services, in one place, units last in the names.
public enum BrokerLimits {
    // MARK: Decisions

    /// Times a decision is made again when a concurrent append changed what it read
    /// (`retryingOnConflict`).
    public static let conflictRetriesMax = 5

    // MARK: Pulls (`TransferService`)

    /// Records in one delivery at most, whatever a pull asks for: a repeated pull reads a
    /// delivery's whole range again in one page.
    public static let deliveryRecordsMax = 10_000

    // MARK: The book (`AccountingService`)

    /// Transfers in one commit: one `transfers.posted` event stays well under the payload limit.
    public static let transfersPerCommitMax = 300
    /// Accounts in one `accounts.opened` event (each about 270 bytes of payload).
    public static let accountsPerEventMax = 500
    /// Transfers decided into one group of money-only requests.
    public static let accountingGroupTransfersMax = 6_000
    /// Requests with other events decided into one group.
    public static let accountingGroupRequestsMax = 64
    /// Attempts per request when the book's fence fails because other processes moved the accounts.
    public static let accountingFenceRetriesMax = 8
    /// Seconds to wait for the accounts' stream version after a failed commit.
    public static let accountingStoreReadSecondsMax = 5.0

    /// Tiles whose tree nodes a process keeps for proofs (16 KiB each: 64 MiB, every tile of a
    /// log of a million events).
    public static let logNodeCacheTilesMax = 4_096

    // MARK: Witnesses (`WitnessSubmitter`, `serve --witness`)
    /// How often the broker looks for a checkpoint its witnesses have not cosigned yet.
    public static let witnessPollSeconds = 0.25
    /// The longest a witness may take to answer one submission.
    public static let witnessAnswerSecondsMax = 10.0
    /// The longest back-off between two submissions to a witness that is down or refuses.
    public static let witnessBackoffSecondsMax = 60.0
    /// The longest a receipt or proof waits for witnesses that are up to cosign its checkpoint.
    public static let witnessWaitSecondsMax = 5.0
    /// Witnesses one broker submits to.
    public static let witnessesMax = 16

    // MARK: Revocation callbacks (`CallbackDispatcher`)

    /// Seconds a recipient has to answer one notice.
    public static let callbackAnswerSecondsMax = 5.0
    /// Seconds between two attempts at most (the back-off doubles from 1 s up to this).
    public static let callbackBackoffSecondsMax: Int64 = 3_600
    /// Seconds between two looks for due notices.
    public static let callbackPollSeconds = 1.0

    // MARK: Maintenance (`MaintenanceService`)

    /// Checkpoint ticks between two sweeps of expired vouchers and reservations (about a minute).
    public static let sweepEveryCheckpointTicks = 6
}

/// Every bound on what a file handed to the CLI or the broker can make it do, in one place; units
/// last. (What a request can make it do is in `APILimits`, what the ledger holds in `Limits`.)
public enum InputLimits {
    /// Bytes of a key file (`identity.key`, `broker.key`, a party's `.key`) or a public key file.
    public static let keyFileBytesMax = 16 * 1024
    /// Argon2id passes a key file may ask for: libsodium's "sensitive" level. `mydata key init`
    /// writes the interactive level (2).
    public static let kdfOpsLimitMax: UInt64 = 4
    /// Argon2id memory a key file may ask for: libsodium's "moderate" level, 256 MiB. `mydata key
    /// init` writes the interactive level (64 MiB).
    public static let kdfMemoryBytesMax: UInt64 = 256 * 1_048_576
    /// Bytes of the vault's key-encryption key file.
    public static let vaultKeyFileBytesMax = 1024
    /// Bytes of one policy file.
    public static let policyFileBytesMax = 1_048_576
    /// Category files in `Policies/categories/`.
    public static let policyCategoryFilesMax = 64
    /// Nesting of a policy file's YAML (mappings and lists inside each other).
    public static let yamlDepthMax = 32
    /// YAML nodes in one policy file, counting every node an alias repeats.
    public static let yamlNodesMax = 100_000
    /// Bytes of a consent receipt file.
    public static let receiptFileBytesMax = 1_048_576
    /// Bytes of a checkpoint file (`mydata admin checkpoint`).
    public static let checkpointFileBytesMax = 64 * 1024
    /// Bytes of a ledger identity file (`ledger.id`).
    public static let ledgerIdentityFileBytesMax = 4 * 1024
}

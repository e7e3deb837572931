import Consent
import Foundation
import Ledger
import Sodium

/// Encryption at rest per person: each person's records are sealed under their own data key,
/// which is stored wrapped under the broker's key-encryption key. Destroying a person's data
/// key makes all their records unreadable (crypto-shredding).
public struct Vault: Sendable {
    private let kek: SymmetricKey
    public let store: any VaultStore

    public init(kek: SymmetricKey, store: any VaultStore) {
        self.kek = kek
        self.store = store
    }

    /// The data key of `subject`, created on first use.
    ///
    /// - Throws: `ConsentError.subjectErased` once the person's key was destroyed.
    public func dataKey(for subject: String) async throws -> SymmetricKey {
        let fresh = try SymmetricKey()
        var freshBytes = fresh.copyBytes()
        defer { Sodium.zero(&freshBytes) }
        let wrappedFresh = XChaCha20Poly1305.seal(freshBytes, key: kek, associatedData: Self.keyAD(subject))
        guard let wrapped = try await store.dataKey(subject: subject, orCreate: wrappedFresh) else {
            throw ConsentError(.subjectErased, "this person's data was erased")
        }
        return try unwrap(wrapped, of: subject)
    }

    /// A stored data key opened with the key-encryption key.
    ///
    /// - Throws: `LedgerError.storeUnavailable` when it does not open (another deployment's kek).
    private func unwrap(_ wrapped: [UInt8], of subject: String) throws -> SymmetricKey {
        guard var bytes = try? XChaCha20Poly1305.open(wrapped, key: kek, associatedData: Self.keyAD(subject)) else {
            throw LedgerError(
                .storeUnavailable, "a data key does not open with this broker's vault.kek: copy the deployment's vault.kek to this host")
        }
        return try SymmetricKey(consuming: &bytes)
    }

    /// The data keys of people who already have one, read together (an analysis opens many
    /// people's records); a person whose key was destroyed or never made is left out.
    public func existingDataKeys(for subjects: [String]) async throws -> [String: SymmetricKey] {
        var out: [String: SymmetricKey] = [:]
        for (subject, wrapped) in try await store.wrappedDataKeys(subjects: subjects) {
            guard let wrapped else { continue }
            out[subject] = try unwrap(wrapped, of: subject)
        }
        return out
    }

    /// Seals a record for `subject`, binding the ciphertext to its metadata.
    public func seal(_ record: TelemetryRecord, manufacturer: String, subject: String, batchID: String, key: SymmetricKey) throws -> SealedRecord {
        var plain = TelemetryJSON.canonical(record.values)
        defer { Sodium.zero(&plain) }
        let sealed = XChaCha20Poly1305.seal(
            plain, key: key,
            associatedData: Self.recordAD(
                subject: subject, manufacturer: manufacturer,
                device: record.device, item: record.item, time: record.time))
        return SealedRecord(
            batchID: batchID, manufacturer: manufacturer, deviceID: record.device, subject: subject, item: record.item,
            time: record.time, sealed: sealed)
    }

    /// Opens a sealed record.
    ///
    /// - Throws: `SodiumError.decryptionFailed` when the record or its metadata were changed.
    public func open(_ record: SealedRecord, key: SymmetricKey) throws -> TelemetryRecord {
        let plain = try XChaCha20Poly1305.open(
            record.sealed, key: key,
            associatedData: Self.recordAD(
                subject: record.subject, manufacturer: record.manufacturer, device: record.deviceID, item: record.item, time: record.time))
        let values = try CanonicalJSON.decode([String: FieldValue].self, from: plain)
        return TelemetryRecord(device: record.deviceID, item: record.item, time: record.time, values: values)
    }

    /// Opens a sealed record's values (canonical JSON) for `read`, inside the broker, and zeroes
    /// the plaintext once read: an analysis takes what it needs and nothing else stays.
    ///
    /// - Throws: `SodiumError.decryptionFailed` when the record or its metadata were changed.
    public func withOpenedValues<T>(_ record: SealedRecord, key: SymmetricKey, _ read: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        var plain = try XChaCha20Poly1305.open(
            record.sealed, key: key,
            associatedData: Self.recordAD(
                subject: record.subject, manufacturer: record.manufacturer, device: record.deviceID, item: record.item, time: record.time))
        defer { Sodium.zero(&plain) }
        return try plain.withUnsafeBytes(read)
    }

    /// Opens a sealed record straight into its canonical JSON (what `CanonicalJSON.encode` of
    /// the `TelemetryRecord` gives: sorted keys, no whitespace), without decoding its values.
    /// Device ids and items are plain identifiers, so they need no escaping.
    ///
    /// - Throws: `SodiumError.decryptionFailed` when the record or its metadata were changed.
    public func openCanonical(_ record: SealedRecord, key: SymmetricKey) throws -> [UInt8] {
        var values = try XChaCha20Poly1305.open(
            record.sealed, key: key,
            associatedData: Self.recordAD(
                subject: record.subject, manufacturer: record.manufacturer, device: record.deviceID, item: record.item, time: record.time))
        defer { Sodium.zero(&values) }
        guard Identifiers.isValidReference(record.deviceID), Identifiers.isValidReference(record.item) else {
            return try CanonicalJSON.encode(try open(record, key: key))
        }
        var out: [UInt8] = []
        out.reserveCapacity(values.count + record.deviceID.utf8.count + record.item.utf8.count + 64)
        out += #"{"device":""#.utf8
        out += record.deviceID.utf8
        out += #"","item":""#.utf8
        out += record.item.utf8
        out += #"","time":"#.utf8
        out += String(record.time.milliseconds).utf8
        out += #","values":"#.utf8
        out += values
        out.append(UInt8(ascii: "}"))
        return out
    }

    static func keyAD(_ subject: String) -> [UInt8] { Array("mydata/data-key/v1\u{0}\(subject)".utf8) }

    static func recordAD(subject: String, manufacturer: String, device: String, item: String, time: Timestamp) -> [UInt8] {
        // `mydata/record/v1 ␀ subject ␀ manufacturer ␀ device ␀ item ␀ time`, written byte by
        // byte: every record opened or sealed builds one.
        var ad: [UInt8] = []
        ad.reserveCapacity(40 + subject.utf8.count + manufacturer.utf8.count + device.utf8.count + item.utf8.count)
        ad += "mydata/record/v1".utf8
        for part in [subject, manufacturer, device, item] {
            ad.append(0)
            ad += part.utf8
        }
        ad.append(0)
        ad += String(time.milliseconds).utf8
        return ad
    }
}

import Consent
import Ledger
import Sodium

extension BrokerService {
    /// A signed receipt for `consentID`, for the person who gave it.
    ///
    /// - Throws: `ConsentError.consentNotFound` when there is no such consent of `subject`.
    public func receipt(consentID: String, subject: String) async throws -> SignedReceipt {
        guard let consent = try await store.consent(consentID), consent.subject == subject else {
            throw ConsentError(.consentNotFound, "you have no consent \(consentID); list yours with `mydata consents`")
        }
        guard let grant = try await store.events(from: consent.grantSequence, limit: 1).first,
            grant.event.type == DomainEvent.TypeName.consentGranted, grant.event.streamID == StreamName.consent(consentID),
            let subjectRecord = try await store.subject(subject)
        else {
            throw ConsentError(.consentNotFound, "the grant of \(consentID) is not where the projection says; run `mydata admin verify`")
        }
        let checkpoint = try await store.checkpoints().first { $0.sequence >= grant.sequence }
        let grantProof = try await logProof(sequence: grant.sequence)
        var revocation: ConsentReceipt.RevocationEvidence?
        if let sequence = consent.revokeSequence, sequence > 0 {
            guard let revoked = try await store.events(from: sequence, limit: 1).first,
                revoked.event.type == DomainEvent.TypeName.consentRevoked, revoked.event.streamID == grant.event.streamID
            else {
                throw ConsentError(
                    .consentNotFound, "the revocation of \(consentID) is not where the projection says; run `mydata admin verify`")
            }
            revocation = .init(
                ledgerSequence: revoked.sequence, previousHash: Hex.encode(revoked.previousHash), eventHash: Hex.encode(revoked.hash),
                streamID: revoked.event.streamID, eventType: revoked.event.type, schemaVersion: revoked.event.schemaVersion,
                eventTime: revoked.event.time.milliseconds, authorID: revoked.event.authorID, payload: Base64.encode(revoked.event.payload),
                signature: Base64.encode(revoked.event.signature), logProof: try await logProof(sequence: revoked.sequence).encoded)
        }
        let policy = try await store.activePolicy()
        let recipient = try await store.party(consent.recipient)
        let now = clock.now()
        let receipt = ConsentReceipt(
            schemaVersion: ConsentReceipt.schema, recordID: consent.id, piiPrincipalID: consent.subject,
            piiController: .init(id: consent.recipient, name: recipient?.name),
            piiProcessor: .init(id: identity.id, name: "MyData broker"),
            purposes: [.init(id: consent.terms.purpose, title: policy?.policy.purpose(consent.terms.purpose)?.title)],
            dataCategory: consent.terms.category, dataItems: consent.terms.items, sensitive: consent.sensitiveConfirmed,
            legalBasis: "consent", consentType: "explicit", collectionMethod: "signed by the person's own Ed25519 key",
            grantedAt: consent.grantedAt.description, expiresAt: consent.expiresAt.description,
            revokedAt: consent.revokedAt?.description, dataFrom: consent.terms.dataFrom.description,
            dataTo: consent.terms.dataTo.description, retentionDays: consent.terms.retentionDays,
            onceOff: consent.terms.onceOff, incentiveKRW: consent.terms.incentiveKRW,
            policyVersion: consent.policyVersion, policyHash: consent.policyHash,
            requestID: consent.requestID, requestHash: consent.requestHash,
            status: consent.status(at: now).rawValue, statusAt: now.description,
            evidence: .init(
                ledgerSequence: grant.sequence, eventHash: Hex.encode(grant.hash), streamID: grant.event.streamID,
                eventType: grant.event.type, schemaVersion: grant.event.schemaVersion,
                eventTime: grant.event.time.milliseconds, payload: Base64.encode(grant.event.payload),
                subjectKey: subjectRecord.signingKey, subjectSignature: Base64.encode(grant.event.signature),
                checkpoint: checkpoint.map {
                    .init(
                        sequence: $0.sequence, headHash: Hex.encode($0.headHash),
                        time: $0.time.milliseconds, signature: Base64.encode($0.signature))
                }, previousHash: Hex.encode(grant.previousHash), logProof: grantProof.encoded),
            revocation: revocation, contract: consent.terms.contract)
        let signature = identity.signingKey.sign(try SignedReceipt.signedBytes(receipt))
        return SignedReceipt(
            receipt: receipt,
            signature: .init(
                algorithm: "Ed25519", keyID: identity.id,
                publicKey: identity.publicKeys.signingKey,
                value: Base64.encode(signature.bytes)))
    }
}

extension BrokerService {
    /// A c2sp.org/tlog-proof@v1 proof that the event at ledger `sequence` (leaf `sequence − 1`)
    /// is in the log, on the newest signed checkpoint, which covers it: when none does yet, the
    /// broker signs one first rather than hand out a proof that cannot verify. With witnesses
    /// configured (`witnessing`), it first waits a bounded time for their cosignatures.
    ///
    /// - Throws: `LedgerError` when the ledger has no such event.
    public func logProof(sequence: UInt64) async throws -> TlogProof {
        var latest = try await store.latestLogCheckpoint()
        if (latest?.size ?? 0) < sequence {
            try await signCheckpoint()
            latest = try await store.latestLogCheckpoint()
        }
        guard var size = latest?.size, size >= sequence, sequence > 0 else {
            throw LedgerError(.corruptRecord, "the ledger has no event \(sequence) for a log proof")
        }
        // The witnesses may have cosigned a larger checkpoint meanwhile: the proof is for its size.
        if let witnessing, let cosigned = try await witnessing.cosigned(size: size), cosigned.size >= sequence {
            latest = cosigned
            size = cosigned.size
        }
        guard let text = latest?.note, let note = SignedNote.parse(Array(text.utf8)), LogCheckpoint(text: note.text)?.size == size else {
            throw LedgerError(.corruptRecord, "the log checkpoint of size \(size) is not a signed note; run `mydata admin verify`")
        }
        let hashes = try await MerkleTree.inclusionProof(index: sequence - 1, size: size, node: logNodes.reader(size: size))
        return TlogProof(index: sequence - 1, hashes: hashes, checkpoint: note)
    }
}

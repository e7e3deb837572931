import BrokerServer
import Consent
import Foundation
import MyDataWire
import Ledger

extension FuzzTarget {
    /// A submit body as `POST /v1/consents` and the other write routes receive it, then each
    /// event the way the broker and the ledger handle it: the wire form, the signing input, the
    /// canonical envelope and hash, the decoding and canonical-form checks of a submission, the
    /// clock check, and the verifier's key book.
    static func envelope(_ input: [UInt8]) throws {
        let body = try JSONDecoder().decode(SubmitBody.self, from: Data(input))
        guard (1...APILimits.submittedEventsMax).contains(body.events.count) else { return }
        var book = DomainKeyBook()
        var head = ChainHead.genesis
        for wire in body.events {
            guard let event = try? wire.event() else { continue }
            FuzzCheck.require(
                WireEvent(event) == wire || Base64.encode(event.payload) != wire.payload
                    || Base64.encode(event.signature) != wire.signature,
                "a wire event whose base64 is canonical round-trips")
            // The bytes an author signs are computed before any check, to verify the signature.
            _ = event.signingInput
            guard (try? AppendBatch(events: [event]).validate()) != nil else { continue }
            let recorded = RecordedEvent.chained(event, after: head)
            FuzzCheck.require(recorded.recomputedHash() == recorded.hash, "an event's hash is recomputed from its fields")
            head = recorded.head
            // `LedgerVerifier`'s view of the event once stored: who must have signed it.
            _ = book.expectedSigner(of: recorded, prepared: DomainKeyBook.prepare(recorded))
            // `BrokerService.decodeSubmitted`: decodes, at the current version, in its own stream, canonical.
            guard let domain = try? DomainEvent.decode(event),
                event.schemaVersion == DomainEvent.upcasters.currentVersion(of: event.type),
                event.streamID == domain.streamID, (try? domain.payload()) == event.payload
            else { continue }
            _ = Projection.changes(for: domain, event: event)
            // Anyone can sign with a key they have just made (a person's first registration), so
            // everything after the signature check is reachable by anyone: the clock check runs on
            // every signed event before any rule.
            try ConsentRules.checkClock(event.time, now: FuzzKeys.now)
        }
    }
}

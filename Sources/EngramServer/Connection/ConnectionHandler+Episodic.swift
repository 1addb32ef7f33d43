import EngramProtocol
import EngramStorage
import FoundationEssentials
import NIOCore

/// Episodic memory (docs/PROTOCOL.md, "Episodic memory"): appends go through the group-commit
/// writer and are answered when durable; range reads and scans run here on the event loop in an
/// LMDB read transaction. Follows are in `ConnectionHandler+Follow.swift`.
extension ConnectionHandler {
    func episodicAppend(_ namespace: Namespace, _ episodes: [WireNewEpisode], _ header: FrameHeader, _ start: UInt64) {
        let command = EpisodeAppend(namespace: namespace, episodes: episodes.map(NewEpisode.init))
        let completion = completionSink(header, start)
        submit(header, start) { () throws(EngramError) in
            try server.store.submit(command, durability: durability(header)) { result in
                switch result {
                case .success(let receipts): completion(.response(.receipts(receipts.map(WireEpisodeReceipt.init))))
                case .failure(let error): completion(.failure(error))
                }
            }
        }
    }

    func episodicReadRange(_ namespace: Namespace, _ agent: String, _ range: WireEpisodeRange, _ order: WireEpisodeOrder, _ limit: UInt32, _ header: FrameHeader, _ start: UInt64) {
        do {
            let page = try server.store.episodes(namespace: namespace, agent: agent, range: EpisodeRange(sequences: range.sequences, time: range.time), order: order == .oldestFirst ? .oldestFirst : .newestFirst, limit: Int(limit))
            let next = page.next.map { WireEpisodeRange(sequences: $0.sequences, time: $0.time) }
            answer(.episodePage(episodes: page.episodes.map(WireEpisode.init), next: next), header, start)
        } catch {
            answerError(Status(error), error.wireMessage, header, startNanoseconds: start)
        }
    }

    func episodicScan(_ namespace: Namespace, _ from: UInt64, _ limit: UInt32, _ header: FrameHeader, _ start: UInt64) {
        do {
            let page = try server.store.scanEpisodes(namespace: namespace, from: max(from, 1), limit: Int(limit))
            answer(.episodeScanPage(episodes: page.episodes.map(WireEpisode.init), nextPosition: page.nextPosition, isAtEnd: page.isAtEnd), header, start)
        } catch {
            answerError(Status(error), error.wireMessage, header, startNanoseconds: start)
        }
    }
}

extension NewEpisode {
    init(_ episode: WireNewEpisode) {
        self.init(agent: episode.agent, kind: episode.kind, lead: episode.lead.map(UUID.init), campaign: episode.campaign.map(UUID.init), body: episode.body)
    }
}

extension WireEpisode {
    init(_ episode: Episode) {
        self.init(position: episode.position, sequence: episode.sequence, timestampMicroseconds: episode.timestampMicroseconds, agent: episode.agent, kind: episode.kind, lead: episode.lead.map(FactID.init), campaign: episode.campaign.map(FactID.init), body: episode.body)
    }
}

extension WireEpisodeReceipt {
    init(_ receipt: EpisodeReceipt) {
        self.init(sequence: receipt.sequence, timestampMicroseconds: receipt.timestampMicroseconds, position: receipt.position)
    }
}

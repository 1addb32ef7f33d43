import EngramProtocol
import EngramStorage
import NIOCore

/// Short-term memory (docs/PROTOCOL.md, "Short-term memory"): the hot tier is in memory and
/// synchronous, so every request is answered here on the event loop, with no writer queue.
///
/// Gets and puts take a fast path: the body is parsed in place (`ShortTermRequestView`), the
/// namespace is matched against the last one the connection used by its bytes, and a get's value
/// is copied from the arena straight into the output buffer inside `withValue`, under the item's
/// stripe lock, doing nothing else there (docs/HOT_TIER.md, "Operations").
extension ConnectionHandler {
    /// Serves a short-term get or put without decoding it into a `Request`. Returns false when
    /// the body does not parse, so the caller decodes it the ordinary way and names the error.
    func serveShortTermFast(_ frame: Frame, isPut: Bool, _ start: UInt64) -> Bool {
        let header = frame.header
        return frame.body.withUnsafeReadableBytes { body in
            guard let view = ShortTermRequestView.parse(body, isPut: isPut) else { return false }
            let namespaceBytes = UnsafeRawBufferPointer(rebasing: body[view.namespace])
            guard let namespace = authorizeBytes(namespaceBytes, isPut ? .write : .read, header, start) else { return true }
            let key = UnsafeRawBufferPointer(rebasing: body[view.key])
            if isPut {
                shortTermPut(namespace, key, UnsafeRawBufferPointer(rebasing: body[view.value]), view.ttl, header, start)
            } else {
                shortTermGet(namespace, key, header, start)
            }
            return true
        }
    }

    /// Before a burst's frames are served one by one: starts loading the index buckets of the
    /// short-term gets and puts among its first `prefetchFrameCountMax` whole frames, so the burst's cache
    /// misses overlap (docs/PERFORMANCE.md, "Where the time goes"). Reads the buffer without
    /// consuming it; a frame it cannot parse is left to the decoder.
    func prefetchShortTermItems(_ buffer: ByteBuffer) {
        guard phase == .ready else { return }
        let hotTier = server.store.hotTier
        buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            var frames = 0
            while frames < Self.prefetchFrameCountMax, offset + FrameHeader.byteCount <= bytes.count {
                let opcode = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self))
                let bodyLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 16, as: UInt32.self)))
                let bodyStart = offset + FrameHeader.byteCount
                guard bodyLength <= bytes.count - bodyStart else { return }
                if opcode == Opcode.shortTermGet.rawValue || opcode == Opcode.shortTermPut.rawValue {
                    let body = UnsafeRawBufferPointer(rebasing: bytes[bodyStart..<(bodyStart + bodyLength)])
                    if let view = ShortTermRequestView.parse(body, isPut: opcode == Opcode.shortTermPut.rawValue) {
                        hotTier.prefetch(namespace: UnsafeRawBufferPointer(rebasing: body[view.namespace]), key: UnsafeRawBufferPointer(rebasing: body[view.key]))
                    }
                }
                offset = bodyStart + bodyLength
                frames += 1
            }
        }
    }

    /// `authorize` for a namespace given as bytes: the last namespace the connection used is
    /// matched by its bytes, without building a `String`; any other goes through `authorize`.
    func authorizeBytes(_ bytes: UnsafeRawBufferPointer, _ role: Role, _ header: FrameHeader, _ start: UInt64) -> Namespace? {
        if let last = lastNamespace, last.namespace.bytes.elementsEqual(bytes) {
            if let granted = last.role, granted >= role { return last.namespace }
        }
        let name = String(decoding: bytes, as: UTF8.self)
        guard let namespace = authorize(name, role, header, start) else { return nil }
        lastNamespace = (namespace, namespaceCache[name]?.role)
        return namespace
    }

    func shortTermGet(_ namespace: Namespace, _ key: UnsafeRawBufferPointer, _ header: FrameHeader, _ start: UInt64) {
        let hotTier = server.store.hotTier
        var failure: EngramError? = nil
        var found = false
        withOutput { buffer in
            let frameStart = buffer.writerIndex
            let lengthIndex = FrameHeader(opcode: .shortTermGet, requestID: header.requestID).write(into: &buffer)
            do throws(EngramError) {
                found = try hotTier.withValue(namespace: namespace, key: key) { (value: UnsafeRawBufferPointer) -> Void in
                    buffer.writeInteger(UInt32(value.count), endianness: .little)
                    buffer.writeBytes(value)
                } != nil
            } catch {
                failure = error
            }
            if found {
                buffer.setInteger(UInt32(buffer.writerIndex - frameStart - FrameHeader.byteCount), at: lengthIndex, endianness: .little)
            } else {
                buffer.moveWriterIndex(to: frameStart)
            }
        }
        if let failure {
            answerError(Status(failure), failure.wireMessage, header, startNanoseconds: start)
        } else if !found {
            answerError(.notFound, "", header, startNanoseconds: start)
        } else {
            server.metrics.record(.shortTermGet, status: .ok, nanoseconds: Self.now() - start)
        }
    }

    func shortTermPut(_ namespace: Namespace, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, _ ttl: WireTTL, _ header: FrameHeader, _ start: UInt64) {
        do {
            try server.store.hotTier.put(namespace: namespace, key: key, value: value, ttlSeconds: ttl.seconds)
            withOutput { buffer in
                FrameHeader(opcode: .shortTermPut, requestID: header.requestID).write(into: &buffer)
            }
            server.metrics.record(.shortTermPut, status: .ok, nanoseconds: Self.now() - start)
        } catch {
            answerError(Status(error), error.wireMessage, header, startNanoseconds: start)
        }
    }

    func shortTermMultiGet(_ namespace: Namespace, _ keys: [[UInt8]], _ header: FrameHeader, _ start: UInt64) {
        let hotTier = server.store.hotTier
        let limits = server.store.limits
        guard !keys.isEmpty, keys.count <= limits.hotTierMultiGetKeyCountMax else {
            answerError(.invalidArgument, "a multi-get needs 1 to hotTierMultiGetKeyCountMax \(limits.hotTierMultiGetKeyCountMax) keys, got \(keys.count)", header, startNanoseconds: start)
            return
        }
        var failure: EngramError? = nil
        withOutput { buffer in
            let frameStart = buffer.writerIndex
            let lengthIndex = FrameHeader(opcode: .shortTermMultiGet, requestID: header.requestID).write(into: &buffer)
            buffer.writeInteger(UInt16(keys.count), endianness: .little)
            // Values up to scanBytesMax, and always the first one found: each request makes progress.
            var valueBytes = 0
            var anyValue = false
            for key in keys {
                do throws(EngramError) {
                    let stateIndex = buffer.writerIndex
                    buffer.writeInteger(UInt8(0))
                    _ = try hotTier.withValue(namespace: namespace, key: key) { (value: UnsafeRawBufferPointer) -> Void in
                        if anyValue && valueBytes + value.count > limits.scanBytesMax {
                            buffer.setInteger(MultiGetEntry.notRead.state, at: stateIndex)
                            return
                        }
                        buffer.setInteger(UInt8(1), at: stateIndex)
                        buffer.writeInteger(UInt32(value.count), endianness: .little)
                        buffer.writeBytes(value)
                        valueBytes += value.count
                        anyValue = true
                    }
                } catch {
                    failure = error
                    break
                }
            }
            if failure == nil {
                buffer.setInteger(UInt32(buffer.writerIndex - frameStart - FrameHeader.byteCount), at: lengthIndex, endianness: .little)
            } else {
                buffer.moveWriterIndex(to: frameStart)
            }
        }
        if let failure {
            answerError(Status(failure), failure.wireMessage, header, startNanoseconds: start)
        } else {
            server.metrics.record(.shortTermMultiGet, status: .ok, nanoseconds: Self.now() - start)
        }
    }

    func shortTermDelete(_ namespace: Namespace, _ key: [UInt8], _ header: FrameHeader, _ start: UInt64) {
        do {
            answer(.existed(try server.store.hotTier.delete(namespace: namespace, key: key)), header, start)
        } catch {
            answerError(Status(error), error.wireMessage, header, startNanoseconds: start)
        }
    }

    func shortTermTouch(_ namespace: Namespace, _ key: [UInt8], _ ttl: WireTTL, _ header: FrameHeader, _ start: UInt64) {
        do {
            answer(.existed(try server.store.hotTier.touch(namespace: namespace, key: key, ttlSeconds: ttl.seconds)), header, start)
        } catch {
            answerError(Status(error), error.wireMessage, header, startNanoseconds: start)
        }
    }

    func answerShortTermStats(_ header: FrameHeader, _ start: UInt64) {
        let hot = server.store.hotTier.statistics
        var values: [Statistic] = [
            Statistic("hot_tier.items", UInt64(hot.itemCount)),
            Statistic("hot_tier.hits", hot.hitCount),
            Statistic("hot_tier.misses", hot.missCount),
            Statistic("hot_tier.evictions", hot.evictionCount),
            Statistic("hot_tier.expirations", hot.expirationCount),
            Statistic("hot_tier.key_value_bytes", UInt64(hot.keyValueBytes)),
            Statistic("hot_tier.bytes_in_use", UInt64(hot.bytesInUse)),
            Statistic("hot_tier.budget_bytes", UInt64(hot.budgetBytes)),
            Statistic("hot_tier.bookkeeping_bytes", UInt64(hot.bookkeepingBytes)),
            Statistic("hot_tier.pages", UInt64(hot.pageCount)),
            Statistic("hot_tier.free_pages", UInt64(hot.freePageCount)),
            Statistic("hot_tier.page_moves", hot.pageMoveCount),
            Statistic("long_term_cache.items", UInt64(hot.longTermCache.itemCount)),
            Statistic("long_term_cache.bytes_in_use", UInt64(hot.longTermCache.bytesInUse)),
            Statistic("long_term_cache.hits", hot.longTermCache.hitCount),
            Statistic("long_term_cache.misses", hot.longTermCache.missCount),
            Statistic("long_term_cache.fills", hot.longTermCache.fillCount),
            Statistic("long_term_cache.invalidations", hot.longTermCache.invalidationCount),
        ]
        for size in hot.classes where size.pageCount > 0 {
            values += [
                Statistic("hot_tier.class.\(size.chunkBytes).pages", UInt64(size.pageCount)),
                Statistic("hot_tier.class.\(size.chunkBytes).chunks_in_use", UInt64(size.chunksInUse)),
                Statistic("hot_tier.class.\(size.chunkBytes).evictions", size.evictionCount),
            ]
        }
        answer(.stats(values), header, start)
    }
}

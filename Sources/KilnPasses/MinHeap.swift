/// A binary min-heap of integers: fusion's ready queue (by position) and the arena packer's
/// merge of byte ranges (by offset).
struct MinHeap {
    private var elements: [Int] = []

    var min: Int? { elements.first }

    mutating func push(_ value: Int) {
        elements.append(value)
        var child = elements.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard elements[child] < elements[parent] else { break }
            elements.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Int? {
        guard let top = elements.first else { return nil }
        let last = elements.removeLast()
        guard !elements.isEmpty else { return top }
        elements[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < elements.count, elements[left] < elements[smallest] { smallest = left }
            if right < elements.count, elements[right] < elements[smallest] { smallest = right }
            guard smallest != parent else { return top }
            elements.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

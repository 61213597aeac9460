/// Stochastic gradient descent with momentum and weight decay, exactly as torch.optim.SGD
/// (dampening 0, no Nesterov): d = g + wd * p; buf = d on the first step, else momentum * buf + d;
/// p -= lr * buf.
public struct SGD {
    public var learningRate: Float
    public var momentum: Float
    public var weightDecay: Float

    public init(learningRate: Float, momentum: Float = 0.9, weightDecay: Float = 1e-4) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
    }

    public func step(_ parameters: [Parameter]) {
        for p in parameters where p.trainable {
            guard let g = p.grad else { continue }
            p.enableMomentum()
            let buf = p.momentum!, v = p.value, n = p.count
            let wd = weightDecay, mom = momentum, lr = learningRate
            // One pass over the parameter: decay, momentum and step per element, in torch's order (each element
            // on its own, so the cores split a large parameter with the same result).
            if p.momentumStarted {
                parallelFor(n, work: 4 * n) { r in
                    for i in r {
                        buf[i] = mom * buf[i] + (g[i] + wd * v[i])
                        v[i] -= lr * buf[i]
                    }
                }
            } else {
                parallelFor(n, work: 4 * n) { r in
                    for i in r {
                        buf[i] = g[i] + wd * v[i]
                        v[i] -= lr * buf[i]
                    }
                }
                p.momentumStarted = true
            }
            p.markChanged()
        }
    }
}

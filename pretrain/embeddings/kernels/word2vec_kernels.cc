// Fused word2vec training step: word2vec.c / gensim's per-word SGD with negative
// sampling, run in C++ over a batch of consecutive corpus tokens, writing the two
// tables (resource variables) in place.
//
// Semantics follow gensim's word2vec_inner.pyx (cbow_mean=1):
// - each centre word draws a reduced window b = rand % window; its context is the
//   positions within window - b of it, in the same document, valid, inside the batch;
// - skip-gram: for each (centre, context) pair, h = input[context]; CBOW: once per
//   centre with at least one context word, h = mean of the context input rows;
// - for the target (label 1: the centre) and `negative` unigram^0.75 draws (label 0; a
//   draw equal to the target is skipped), each a binary search of a random integer in
//   the cumulative distribution (gensim's cum_table: V entries whose upper levels stay in
//   cache, where word2vec.c's 1e8-slot table misses it on every draw; measured 1.9x
//   the CPU time per epoch with a 1e7-slot table): f = dot(h, out[w]); if |f| < 6,
//   g = (label - sigmoid(f)) * lr, neu1e += g * out[w], out[w] += g * h (a saturated
//   score, |f| >= 6, gives no update, as gensim);
// - then input[context] += neu1e (skip-gram) or every context row += neu1e (CBOW).
// sigmoid and log-sigmoid come from word2vec's 1000-entry EXP_TABLE over [-6, 6].
// Randomness is word2vec's 48-bit linear congruential generator, one per slice of the
// batch, seeded from (seed, slice). Slices run on the op's CPU worker threads and
// update shared rows without locks (Hogwild, as gensim's worker threads); there are
// kSlicesPerThread per thread so that a thread the OS holds back delays the call by one
// small slice, not by half the batch (measured on a loaded 2-core machine: 2 slices
// gave 0.94x gensim's words/s, 16 gave 1.05x, median of several runs).

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/resource_mgr.h"
#include "tensorflow/core/framework/resource_var.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace pretraining_toolkit {

using ::tensorflow::DEVICE_CPU;
using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::Var;
namespace errors = ::tensorflow::errors;

REGISTER_OP("Word2vecTrainBatch")
    .Input("input_table: resource")
    .Input("output_table: resource")
    .Input("tokens: int32")
    .Input("documents: int32")
    .Input("valid: bool")
    .Input("negative_cumulative: int64")
    .Input("learning_rate: float")
    .Input("seed: int64")
    .Attr("window: int >= 1")
    .Attr("negative: int >= 1")
    .Attr("skipgram: bool")
    .Attr("num_slices: int >= 0 = 0")
    .Output("loss: float")
    .Output("pairs: float")
    .SetIsStateful()
    .SetShapeFn([](::tensorflow::shape_inference::InferenceContext* c) {
      c->set_output(0, c->Scalar());
      c->set_output(1, c->Scalar());
      return absl::OkStatus();
    })
    .Doc(R"doc(
One word2vec SGD pass (negative sampling) over a batch of consecutive tokens.

input_table: float32 variable [rows, dim], updated in place.
output_table: float32 variable [vocabulary, dim] (negative-sampling outputs), updated in place.
tokens: [N] vocabulary ids of consecutive, already subsampled corpus tokens.
documents: [N] document id of each token; windows never cross documents.
valid: [N] false for padding positions (neither centre nor context).
negative_cumulative: [V] nondecreasing cumulative unigram^0.75 weights of words 0..V-1
  (V <= output rows); a draw is uniform in [0, last) and at most 2^32.
learning_rate: scalar SGD step.
seed: scalar; slice s draws from an LCG seeded from (seed, s).
num_slices: contiguous slices of centres trained in parallel; 0: 8 per CPU worker thread.
loss: sum of -log sigmoid terms of every trained pair.
pairs: skip-gram (centre, context) pairs, or CBOW centres with a context.
)doc");

constexpr int kExpTableSize = 1000;
constexpr float kMaxExp = 6.0f;
constexpr uint64_t kLcgMask = (1ULL << 48) - 1;
constexpr int64_t kSlicesPerThread = 8;

// word2vec's tables: sigmoid and log(sigmoid) on a grid of [-6, 6].
struct SigmoidTables {
  float sigmoid[kExpTableSize];
  float log_sigmoid[kExpTableSize];
  SigmoidTables() {
    for (int i = 0; i < kExpTableSize; ++i) {
      float e = std::exp((i / static_cast<float>(kExpTableSize) * 2 - 1) * kMaxExp);
      sigmoid[i] = e / (e + 1);
      log_sigmoid[i] = std::log(sigmoid[i]);
    }
  }
  static int Index(float f) {
    return static_cast<int>((f + kMaxExp) * (kExpTableSize / kMaxExp / 2));
  }
};

const SigmoidTables& Tables() {
  static const SigmoidTables* tables = new SigmoidTables();
  return *tables;
}

// word2vec.c's generator: next = next * 25214903917 + 11 (mod 2^48).
struct Lcg {
  uint64_t state;
  uint64_t Next() {
    state = (state * 25214903917ULL + 11) & kLcgMask;
    return state;
  }
};

uint64_t SliceSeed(int64_t seed, int64_t slice) {
  return (static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(slice) + 1) & kLcgMask;
}

inline float Dot(const float* __restrict a, const float* __restrict b, int dim) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int d = 0; d < dim; ++d) sum += a[d] * b[d];
  return sum;
}

inline void Axpy(float alpha, const float* __restrict x, float* __restrict y, int dim) {
#pragma omp simd
  for (int d = 0; d < dim; ++d) y[d] += alpha * x[d];
}

// -log sigmoid(x): the table inside [-6, 6], its asymptotes outside.
inline float NegativeLogSigmoid(float x) {
  if (x >= kMaxExp) return 0.0f;
  if (x <= -kMaxExp) return -x;
  return -Tables().log_sigmoid[SigmoidTables::Index(x)];
}

// The read-only inputs of a batch and the tables being trained.
struct Batch {
  const int32_t* tokens;
  const int32_t* documents;
  const bool* valid;
  int64_t size;
  const int64_t* negative_cumulative;
  int64_t negative_words;
  float* input;
  float* output;
  int dim;
  int window;
  int negative;
  float learning_rate;
};

struct SliceResult {
  double loss = 0.0;
  double pairs = 0.0;
};

class SliceTrainer {
 public:
  SliceTrainer(const Batch& batch, uint64_t seed)
      : b_(batch), rng_{seed}, hidden_(batch.dim), error_(batch.dim) {}

  // Train the centres at positions [begin, end) of the batch.
  SliceResult Train(int64_t begin, int64_t end, bool skipgram) {
    for (int64_t i = begin; i < end; ++i) {
      if (!b_.valid[i]) continue;
      const int effective = b_.window - static_cast<int>(rng_.Next() % b_.window);
      const int64_t first = std::max<int64_t>(0, i - effective);
      const int64_t last = std::min<int64_t>(b_.size - 1, i + effective);
      if (skipgram) {
        for (int64_t j = first; j <= last; ++j) {
          if (IsContext(i, j)) TrainPair(b_.tokens[i], b_.input + Row(b_.tokens[j]));
        }
      } else {
        TrainCbow(i, first, last);
      }
    }
    return result_;
  }

 private:
  bool IsContext(int64_t centre, int64_t j) const {
    return j != centre && b_.valid[j] && b_.documents[j] == b_.documents[centre];
  }
  int64_t Row(int32_t id) const { return static_cast<int64_t>(id) * b_.dim; }

  // Skip-gram: the context's input row predicts the centre word.
  void TrainPair(int32_t target, float* context_row) {
    std::fill(error_.begin(), error_.end(), 0.0f);
    NegativeSampling(target, context_row);
    Axpy(1.0f, error_.data(), context_row, b_.dim);
    result_.pairs += 1;
  }

  // CBOW: the mean of the context input rows predicts the centre word; every context
  // row then receives the whole error of the mean (gensim's cbow_mean=1).
  void TrainCbow(int64_t centre, int64_t first, int64_t last) {
    std::fill(hidden_.begin(), hidden_.end(), 0.0f);
    int count = 0;
    for (int64_t j = first; j <= last; ++j) {
      if (!IsContext(centre, j)) continue;
      Axpy(1.0f, b_.input + Row(b_.tokens[j]), hidden_.data(), b_.dim);
      ++count;
    }
    if (count == 0) return;
    const float inverse = 1.0f / count;
    for (float& value : hidden_) value *= inverse;
    std::fill(error_.begin(), error_.end(), 0.0f);
    NegativeSampling(b_.tokens[centre], hidden_.data());
    for (int64_t j = first; j <= last; ++j) {
      if (IsContext(centre, j)) Axpy(1.0f, error_.data(), b_.input + Row(b_.tokens[j]), b_.dim);
    }
    result_.pairs += 1;
  }

  // The target with label 1 and `negative` draws with label 0; accumulates into error_.
  void NegativeSampling(int32_t target, const float* hidden) {
    for (int d = 0; d <= b_.negative; ++d) {
      int32_t word = target;
      float label = 1.0f;
      if (d > 0) {
        word = DrawNegative();
        if (word == target) continue;
        label = 0.0f;
      }
      float* output_row = b_.output + Row(word);
      const float f = Dot(hidden, output_row, b_.dim);
      result_.loss += NegativeLogSigmoid(label > 0 ? f : -f);
      if (f <= -kMaxExp || f >= kMaxExp) continue;
      const float g = (label - Tables().sigmoid[SigmoidTables::Index(f)]) * b_.learning_rate;
      Axpy(g, output_row, error_.data(), b_.dim);
      Axpy(g, hidden, output_row, b_.dim);
    }
  }

  // The word whose cumulative interval holds a uniform integer: a row of output_table
  // whatever the table's contents (the search is clamped to the last word).
  int32_t DrawNegative() {
    const int64_t* begin = b_.negative_cumulative;
    const int64_t* end = begin + b_.negative_words;
    const int64_t draw = static_cast<int64_t>((rng_.Next() >> 16) % static_cast<uint64_t>(end[-1]));
    const int64_t word = std::upper_bound(begin, end, draw) - begin;
    return static_cast<int32_t>(std::min<int64_t>(word, b_.negative_words - 1));
  }

  const Batch& b_;
  Lcg rng_;
  std::vector<float> hidden_;
  std::vector<float> error_;
  SliceResult result_;
};

class Word2vecTrainBatchOp : public OpKernel {
 public:
  explicit Word2vecTrainBatchOp(OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, context->GetAttr("window", &window_));
    OP_REQUIRES_OK(context, context->GetAttr("negative", &negative_));
    OP_REQUIRES_OK(context, context->GetAttr("skipgram", &skipgram_));
    OP_REQUIRES_OK(context, context->GetAttr("num_slices", &num_slices_));
  }

  void Compute(OpKernelContext* context) override {
    tsl::core::RefCountPtr<Var> input_var, output_var;
    OP_REQUIRES_OK(context, LookupResource(context, HandleFromInput(context, 0), &input_var));
    OP_REQUIRES_OK(context, LookupResource(context, HandleFromInput(context, 1), &output_var));
    OP_REQUIRES(context, input_var.get() != output_var.get(),
                errors::InvalidArgument("input_table and output_table must be different variables"));
    {
      tensorflow::mutex_lock input_lock(*input_var->mu());
      tensorflow::mutex_lock output_lock(*output_var->mu());
      OP_REQUIRES_OK(context, PrepareTable(context, input_var.get(), "input_table"));
      OP_REQUIRES_OK(context, PrepareTable(context, output_var.get(), "output_table"));
    }
    // Shared locks while training: concurrent calls update the rows together (Hogwild, as
    // TensorFlow's sparse training ops with use_locking=False); an assign waits for them.
    tensorflow::tf_shared_lock input_lock(*input_var->mu());
    tensorflow::tf_shared_lock output_lock(*output_var->mu());
    const Tensor& input = *input_var->tensor();
    const Tensor& output = *output_var->tensor();
    OP_REQUIRES(context, input.dim_size(1) == output.dim_size(1),
                errors::InvalidArgument("input_table and output_table need the same dim, got ",
                                        input.dim_size(1), " and ", output.dim_size(1)));
    const Tensor& tokens = context->input(2);
    const Tensor& documents = context->input(3);
    const Tensor& valid = context->input(4);
    const Tensor& negative_cumulative = context->input(5);
    OP_REQUIRES_OK(context, CheckBatch(tokens, documents, valid, negative_cumulative, input.dim_size(0),
                                       output.dim_size(0)));
    Batch batch{tokens.flat<int32_t>().data(), documents.flat<int32_t>().data(), valid.flat<bool>().data(),
                tokens.NumElements(), negative_cumulative.flat<int64_t>().data(), negative_cumulative.NumElements(),
                input_var->tensor()->flat<float>().data(), output_var->tensor()->flat<float>().data(),
                static_cast<int>(input.dim_size(1)), window_, negative_, context->input(6).scalar<float>()()};
    const SliceResult total = TrainSlices(context, batch, context->input(7).scalar<int64_t>()());
    Tensor* loss = nullptr;
    Tensor* pairs = nullptr;
    OP_REQUIRES_OK(context, context->allocate_output(0, {}, &loss));
    OP_REQUIRES_OK(context, context->allocate_output(1, {}, &pairs));
    loss->scalar<float>()() = static_cast<float>(total.loss);
    pairs->scalar<float>()() = static_cast<float>(total.pairs);
  }

 private:
  // A float32 matrix that this op may write: if a read value still shares the
  // buffer, the variable gets a private copy first (as TF's scatter kernels do).
  static absl::Status PrepareTable(OpKernelContext* context, Var* var, const char* name) {
    Tensor* table = var->tensor();
    if (!table->IsInitialized()) return errors::FailedPrecondition(name, " is not initialized");
    if (table->dtype() != tensorflow::DT_FLOAT || table->dims() != 2) {
      return errors::InvalidArgument(name, " must be a float32 matrix, got ", table->DebugString());
    }
    if (table->RefCountIsOne()) return absl::OkStatus();
    Tensor copy;
    TF_RETURN_IF_ERROR(context->allocate_temp(tensorflow::DT_FLOAT, table->shape(), &copy));
    std::memcpy(copy.flat<float>().data(), table->flat<float>().data(), table->TotalBytes());
    *table = copy;
    return absl::OkStatus();
  }

  static absl::Status CheckIds(const Tensor& ids, int64_t rows, const char* name, const char* table) {
    const auto flat = ids.flat<int32_t>();
    for (int64_t i = 0; i < flat.size(); ++i) {
      if (flat(i) < 0 || flat(i) >= rows) {
        return errors::InvalidArgument(name, "[", i, "] = ", flat(i), " is not a row of ", table, " (", rows,
                                       " rows)");
      }
    }
    return absl::OkStatus();
  }

  static absl::Status CheckBatch(const Tensor& tokens, const Tensor& documents, const Tensor& valid,
                                 const Tensor& negative_cumulative, int64_t input_rows, int64_t output_rows) {
    if (tokens.dims() != 1 || documents.shape() != tokens.shape() || valid.shape() != tokens.shape()) {
      return errors::InvalidArgument("tokens, documents and valid must be vectors of one length, got ",
                                     tokens.shape().DebugString(), ", ", documents.shape().DebugString(), ", ",
                                     valid.shape().DebugString());
    }
    const int64_t words = negative_cumulative.NumElements();
    if (negative_cumulative.dims() != 1 || words == 0 || words > output_rows) {
      return errors::InvalidArgument("negative_cumulative must be a vector of 1 to ", output_rows,
                                     " (output_table rows) weights, got shape ",
                                     negative_cumulative.shape().DebugString());
    }
    const int64_t last = negative_cumulative.flat<int64_t>()(words - 1);
    if (last <= 0 || last > (int64_t{1} << 32)) {
      return errors::InvalidArgument("negative_cumulative must end in 1 to 2^32, got ", last);
    }
    return CheckIds(tokens, std::min(input_rows, output_rows), "tokens", "both tables");
  }

  SliceResult TrainSlices(OpKernelContext* context, const Batch& batch, int64_t seed) {
    auto* workers = context->device()->tensorflow_cpu_worker_threads()->workers;
    int64_t num_slices = num_slices_ > 0 ? num_slices_ : kSlicesPerThread * workers->NumThreads();
    num_slices = std::max<int64_t>(1, std::min<int64_t>(num_slices, batch.size));
    std::vector<SliceResult> results(num_slices);
    auto train = [&](int64_t first_slice, int64_t end_slice) {
      for (int64_t s = first_slice; s < end_slice; ++s) {
        SliceTrainer trainer(batch, SliceSeed(seed, s));
        results[s] = trainer.Train(batch.size * s / num_slices, batch.size * (s + 1) / num_slices, skipgram_);
      }
    };
    if (num_slices == 1) {
      train(0, 1);
    } else {
      workers->ParallelFor(num_slices, train);
    }
    SliceResult total;
    for (const SliceResult& result : results) {
      total.loss += result.loss;
      total.pairs += result.pairs;
    }
    return total;
  }

  int window_;
  int negative_;
  bool skipgram_;
  int num_slices_;
};

REGISTER_KERNEL_BUILDER(Name("Word2vecTrainBatch").Device(DEVICE_CPU), Word2vecTrainBatchOp);

}  // namespace pretraining_toolkit

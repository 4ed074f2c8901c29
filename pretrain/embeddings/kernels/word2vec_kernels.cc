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
//   draw equal to the target is skipped), each a random integer scaled into the cumulative
//   distribution (gensim's cum_table: V entries, where word2vec.c's 1e8-slot table misses the
//   cache on every draw) and found through a guide table of buckets (NegativeGuide: the word a
//   binary search finds, in one or two cache lines instead of log2(V) dependent loads); the
//   draws of an update come first and their rows are prefetched together: f = dot(h, out[w]);
//   if |f| < 6, g = (label - sigmoid(f)) * lr, neu1e += g * out[w], out[w] += g * h (a saturated
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
#include <memory>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

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
constexpr int kMaxGuideBits = 18;  // at most 2^18 buckets (1 MiB) whatever the vocabulary

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

#if defined(__AVX2__) && defined(__FMA__)
inline float HorizontalSum(__m256 v) {
  const __m128 sum4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 sum2 = _mm_add_ps(sum4, _mm_movehl_ps(sum4, sum4));
  return _mm_cvtss_f32(_mm_add_ss(sum2, _mm_shuffle_ps(sum2, sum2, 1)));
}

// Four independent accumulators: one chain of fused multiply-adds waits out each one's latency.
inline float Dot(const float* __restrict a, const float* __restrict b, int dim) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  int d = 0;
  for (; d + 32 <= dim; d += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d), _mm256_loadu_ps(b + d), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d + 8), _mm256_loadu_ps(b + d + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d + 16), _mm256_loadu_ps(b + d + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d + 24), _mm256_loadu_ps(b + d + 24), s3);
  }
  for (; d + 8 <= dim; d += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d), _mm256_loadu_ps(b + d), s0);
  float sum = HorizontalSum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; d < dim; ++d) sum += a[d] * b[d];
  return sum;
}
#else
inline float Dot(const float* __restrict a, const float* __restrict b, int dim) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int d = 0; d < dim; ++d) sum += a[d] * b[d];
  return sum;
}
#endif

inline void Axpy(float alpha, const float* __restrict x, float* __restrict y, int dim) {
#pragma omp simd
  for (int d = 0; d < dim; ++d) y[d] += alpha * x[d];
}

// One output row's SGD update in one pass: error += g * row (its old value), row += g * hidden.
inline void UpdateOutput(float g, const float* __restrict hidden, float* __restrict row, float* __restrict error,
                         int dim) {
#pragma omp simd
  for (int d = 0; d < dim; ++d) {
    error[d] += g * row[d];
    row[d] += g * hidden[d];
  }
}

// Asks for every cache line of a row before it is needed, so the misses of several rows overlap.
inline void PrefetchRow(const float* row, int dim) {
  const char* bytes = reinterpret_cast<const char*>(row);
  for (int offset = 0; offset < dim * 4; offset += 64) __builtin_prefetch(bytes + offset, 1);
  __builtin_prefetch(bytes + dim * 4 - 1, 1);
}

// -log sigmoid(x): the table inside [-6, 6], its asymptotes outside.
inline float NegativeLogSigmoid(float x) {
  if (x >= kMaxExp) return 0.0f;
  if (x <= -kMaxExp) return -x;
  return -Tables().log_sigmoid[SigmoidTables::Index(x)];
}

// A draw is a uniform 32-bit integer u scaled to x = u * last / 2^32 in [0, last), and the word
// is the first whose cumulative weight exceeds x. Instead of a binary search over all V words,
// the top bits of u pick one of 2^bits buckets (about one per word), `first[bucket]` is the
// word of the bucket's smallest x, and a short scan from there finds the word: the same word
// as the search, with one cache line or two read instead of log2(V) dependent loads.
struct NegativeGuide {
  std::vector<int32_t> first;
  int shift = 32;
  std::vector<int64_t> cumulative;  // the weights it was built for

  NegativeGuide(const int64_t* weights, int64_t num_words) : cumulative(weights, weights + num_words) {
    const int64_t last = cumulative.back();
    int bits = 0;
    while (bits < kMaxGuideBits && (int64_t{1} << bits) < num_words) ++bits;
    shift = 32 - bits;
    first.resize(size_t{1} << bits);
    int64_t word = 0;
    for (uint64_t bucket = 0; bucket < first.size(); ++bucket) {
      const int64_t smallest = static_cast<int64_t>(((bucket << shift) * static_cast<uint64_t>(last)) >> 32);
      while (cumulative[word] <= smallest) ++word;
      first[bucket] = static_cast<int32_t>(word);
    }
  }
  bool BuiltFor(const int64_t* weights, int64_t num_words) const {
    return static_cast<int64_t>(cumulative.size()) == num_words &&
           std::memcmp(cumulative.data(), weights, num_words * sizeof(int64_t)) == 0;
  }
};

// The read-only inputs of a batch and the tables being trained.
struct Batch {
  const int32_t* tokens;
  const int32_t* documents;
  const bool* valid;
  int64_t size;
  const int64_t* negative_cumulative;
  int64_t negative_words;
  const int32_t* guide;  // NegativeGuide::first
  int guide_shift;       // NegativeGuide::shift
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
      : b_(batch), rng_{seed}, hidden_(batch.dim), error_(batch.dim), words_(batch.negative + 1) {}

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

  // The target with label 1 and `negative` draws with label 0; accumulates into error_. The
  // draws come first (they do not depend on the updates) so that their rows load together.
  void NegativeSampling(int32_t target, const float* hidden) {
    int count = 0;
    words_[count++] = target;
    for (int d = 0; d < b_.negative; ++d) {
      const int32_t word = DrawNegative();
      if (word != target) words_[count++] = word;
    }
    for (int k = 0; k < count; ++k) PrefetchRow(b_.output + Row(words_[k]), b_.dim);
    const SigmoidTables& tables = Tables();
    for (int k = 0; k < count; ++k) {
      const float label = k == 0 ? 1.0f : 0.0f;
      float* output_row = b_.output + Row(words_[k]);
      const float f = Dot(hidden, output_row, b_.dim);
      result_.loss += NegativeLogSigmoid(k == 0 ? f : -f);
      if (f <= -kMaxExp || f >= kMaxExp) continue;
      const float g = (label - tables.sigmoid[SigmoidTables::Index(f)]) * b_.learning_rate;
      UpdateOutput(g, hidden, output_row, error_.data(), b_.dim);
    }
  }

  // The word whose cumulative interval holds x = u * last / 2^32 for a uniform 32-bit u (see
  // NegativeGuide): a row of output_table whatever the table's contents.
  int32_t DrawNegative() {
    const uint64_t u = rng_.Next() >> 16;
    const int64_t last = b_.negative_cumulative[b_.negative_words - 1];
    const int64_t x = static_cast<int64_t>((u * static_cast<uint64_t>(last)) >> 32);
    int64_t word = b_.guide[u >> b_.guide_shift];
    while (b_.negative_cumulative[word] <= x) ++word;
    return static_cast<int32_t>(word);
  }

  const Batch& b_;
  Lcg rng_;
  std::vector<float> hidden_;
  std::vector<float> error_;
  std::vector<int32_t> words_;  // the target and the negative draws of one update
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
    // Copy on write without serialising the calls: the check runs under the shared locks that
    // training keeps, so a call whose tables share their buffers with nothing (every call of the
    // trainer) never takes an exclusive lock, which would wait for the calls in flight to end and
    // hold back the next ones (a 4,096-token CBOW call lasts ~1 ms on two cores). Only when a read value still
    // shares a buffer are the exclusive locks taken, once, to give the variable a private copy.
    bool trained = false;
    Train(context, input_var.get(), output_var.get(), /*only_if_private=*/true, &trained);
    if (trained || !context->status().ok()) return;
    {
      tensorflow::mutex_lock input_lock(*input_var->mu());
      tensorflow::mutex_lock output_lock(*output_var->mu());
      OP_REQUIRES_OK(context, PrepareTable(context, input_var.get(), "input_table"));
      OP_REQUIRES_OK(context, PrepareTable(context, output_var.get(), "output_table"));
    }
    Train(context, input_var.get(), output_var.get(), /*only_if_private=*/false, &trained);
  }

 private:
  // Trains the batch under shared locks (concurrent calls update the rows together: Hogwild, as
  // TensorFlow's sparse training ops with use_locking=False; an assign waits for them). With
  // `only_if_private`, returns without training (and `*trained` false) if a table's buffer is
  // shared with a read value or the table is not a float32 matrix (PrepareTable's cases).
  void Train(OpKernelContext* context, Var* input_var, Var* output_var, bool only_if_private, bool* trained) {
    *trained = false;
    tensorflow::tf_shared_lock input_lock(*input_var->mu());
    tensorflow::tf_shared_lock output_lock(*output_var->mu());
    if (only_if_private && !(WritableInPlace(input_var) && WritableInPlace(output_var))) return;
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
    const int64_t* weights = negative_cumulative.flat<int64_t>().data();
    const std::shared_ptr<const NegativeGuide> guide = GuideFor(weights, negative_cumulative.NumElements());
    Batch batch{tokens.flat<int32_t>().data(), documents.flat<int32_t>().data(), valid.flat<bool>().data(),
                tokens.NumElements(), weights, negative_cumulative.NumElements(), guide->first.data(), guide->shift,
                input_var->tensor()->flat<float>().data(), output_var->tensor()->flat<float>().data(),
                static_cast<int>(input.dim_size(1)), window_, negative_, context->input(6).scalar<float>()()};
    const SliceResult total = TrainSlices(context, batch, context->input(7).scalar<int64_t>()());
    Tensor* loss = nullptr;
    Tensor* pairs = nullptr;
    OP_REQUIRES_OK(context, context->allocate_output(0, {}, &loss));
    OP_REQUIRES_OK(context, context->allocate_output(1, {}, &pairs));
    loss->scalar<float>()() = static_cast<float>(total.loss);
    pairs->scalar<float>()() = static_cast<float>(total.pairs);
    *trained = true;
  }

  // A float32 matrix whose buffer nothing else holds: the op may write it as it is.
  static bool WritableInPlace(Var* var) {
    const Tensor* table = var->tensor();
    return table->IsInitialized() && table->dtype() == tensorflow::DT_FLOAT && table->dims() == 2 &&
           table->RefCountIsOne();
  }

  // The guide of the last call's weights (the trainer passes the same every call), rebuilt when they change.
  std::shared_ptr<const NegativeGuide> GuideFor(const int64_t* weights, int64_t num_words) {
    tensorflow::mutex_lock lock(guide_mutex_);
    if (guide_ == nullptr || !guide_->BuiltFor(weights, num_words)) {
      guide_ = std::make_shared<const NegativeGuide>(weights, num_words);
    }
    return guide_;
  }

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
  tensorflow::mutex guide_mutex_;
  std::shared_ptr<const NegativeGuide> guide_;
};

REGISTER_KERNEL_BUILDER(Name("Word2vecTrainBatch").Device(DEVICE_CPU), Word2vecTrainBatchOp);

}  // namespace pretraining_toolkit

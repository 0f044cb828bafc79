// qcal::version: the project version the library was built from.
#include "qcal/qcal.hpp"

namespace qcal {

const char* version() { return QCAL_VERSION; }

}  // namespace qcal

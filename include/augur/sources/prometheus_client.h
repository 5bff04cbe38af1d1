#pragma once  // Placeholder: being written (issue #4).

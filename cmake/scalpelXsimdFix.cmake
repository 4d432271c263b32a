# Debian 12's xsimd 8.1 package exports `xsimd` with INTERFACE_LINK_LIBRARIES "xtl", but ships no xtl
# package, so every consumer fails to link with "cannot find -lxtl". xsimd 8 needs xtl only for
# XSIMD_ENABLE_XTL_COMPLEX, which scalpel does not use: drop the dangling reference when no xtl target exists.
if(TARGET xsimd AND NOT TARGET xtl)
  get_target_property(_scalpel_xsimd_links xsimd INTERFACE_LINK_LIBRARIES)
  if(_scalpel_xsimd_links STREQUAL "xtl")
    set_target_properties(xsimd PROPERTIES INTERFACE_LINK_LIBRARIES "")
  endif()
  unset(_scalpel_xsimd_links)
endif()

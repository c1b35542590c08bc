# install-pkgconfig.cmake -- runs at install time (see install.cmake).
# Generates faultline.pc for the prefix actually installed to
# (CMAKE_INSTALL_PREFIX here is the --prefix of `cmake --install`, without
# DESTDIR) and installs it into <libdir>/pkgconfig.
# In: FL_PC_IN, FL_PC_OUT, FL_PC_VERSION, FL_PC_LIBDIR, FL_PC_INCLUDEDIR,
#     FL_PC_DATADIR (each dir relative to the prefix, or absolute).
set(prefix "${CMAKE_INSTALL_PREFIX}")
foreach(_fl_var libdir includedir datadir)
  string(TOUPPER "${_fl_var}" _fl_up)
  set(_fl_val "${FL_PC_${_fl_up}}")
  if(IS_ABSOLUTE "${_fl_val}")
    set(${_fl_var} "${_fl_val}")
  else()
    set(${_fl_var} "\${prefix}/${_fl_val}")
  endif()
endforeach()
set(PROJECT_VERSION "${FL_PC_VERSION}")
configure_file("${FL_PC_IN}" "${FL_PC_OUT}" @ONLY)
if(IS_ABSOLUTE "${FL_PC_LIBDIR}")
  set(_fl_pcdir "${FL_PC_LIBDIR}/pkgconfig")
else()
  set(_fl_pcdir "${CMAKE_INSTALL_PREFIX}/${FL_PC_LIBDIR}/pkgconfig")
endif()
file(INSTALL DESTINATION "${_fl_pcdir}" TYPE FILE FILES "${FL_PC_OUT}")

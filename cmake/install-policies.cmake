# install-policies.cmake -- runs at install time (see install.cmake).
# Installs the stock pack: the *.lua files directly in FL_POLICY_SRC and its
# tests/ folder, into <prefix>/FL_POLICY_DEST.  Globbed here, at install time,
# so pack files added after the build tree was configured are not missed.
# In:  FL_POLICY_SRC (absolute), FL_POLICY_DEST (relative to the prefix, or absolute).
if(IS_ABSOLUTE "${FL_POLICY_DEST}")
  set(_fl_dst "${FL_POLICY_DEST}")
else()
  set(_fl_dst "${CMAKE_INSTALL_PREFIX}/${FL_POLICY_DEST}")
endif()
file(GLOB _fl_lua LIST_DIRECTORIES false "${FL_POLICY_SRC}/*.lua")
# The directory exists even for an empty pack, so the compiled-in default of
# `faultline -p` names a real directory.
file(MAKE_DIRECTORY "$ENV{DESTDIR}${_fl_dst}")
if(_fl_lua)
  list(SORT _fl_lua)
  file(INSTALL DESTINATION "${_fl_dst}" TYPE FILE FILES ${_fl_lua})
endif()
if(IS_DIRECTORY "${FL_POLICY_SRC}/tests")
  file(INSTALL DESTINATION "${_fl_dst}" TYPE DIRECTORY FILES "${FL_POLICY_SRC}/tests")
endif()
